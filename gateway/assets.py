"""GraphiQL's browser assets: copied from npm packages at build time, else loaded from the CDN.

One table says which file of which pinned npm package (`explorer/package.json`) the page needs,
where the CDN serves the same file and its Subresource Integrity hash. `make install` runs
`npm ci` in `explorer/` and then `python -m gateway.assets` to copy the files into the git-ignored
`gateway/static/explorer/`; the hashes prove the local copy and the CDN file are the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "explorer" / "node_modules"
ASSETS_DIR = Path(__file__).resolve().parent / "static" / "explorer"
CDN = "https://unpkg.com"


@dataclass(frozen=True)
class Asset:
    """One file the GraphiQL page loads, in load order."""

    name: str  # file name in ASSETS_DIR (and the URL path under /explorer-assets/)
    package: str
    version: str
    path: str  # inside the npm package
    integrity: str  # sha384 of the file, for the CDN's <script integrity>

    @property
    def source(self) -> Path:
        return NODE_MODULES / self.package / self.path

    @property
    def cdn_url(self) -> str:
        return f"{CDN}/{self.package}@{self.version}/{self.path}"

    @property
    def is_stylesheet(self) -> bool:
        return self.name.endswith(".css")


ASSETS = (
    Asset(
        "react.production.min.js", "react", "18.2.0", "umd/react.production.min.js",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    ),
    Asset(
        "react-dom.production.min.js", "react-dom", "18.2.0", "umd/react-dom.production.min.js",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    Asset(
        "graphiql.min.css", "graphiql", "3.8.3", "graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    Asset(
        "plugin-explorer.css", "@graphiql/plugin-explorer", "3.2.5", "dist/style.css",
        "sha384-YN9MumWidbWKuNj8VfH5ggrFvm9YqAoIOMnKYpeGL3dr7Eg1qnQ+SAqSthdNZCjz",
    ),
    Asset(
        "graphiql.min.js", "graphiql", "3.8.3", "graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    Asset(
        "plugin-explorer.umd.js", "@graphiql/plugin-explorer", "3.2.5", "dist/index.umd.js",
        "sha384-5p6hGdlOTvUy6Wf0GauxCz+xM9YB/YYvcGG+bf9msr2eyd+KVIxgRkepHgUijedJ",
    ),
)  # fmt: skip


def sri(path: Path) -> str:
    """The Subresource Integrity value (sha384) of a file."""
    digest = hashlib.sha384(path.read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def missing(directory: Path = ASSETS_DIR, pinned: tuple[Asset, ...] = ASSETS) -> list[str]:
    """Asset files not present in `directory` (empty: the page can be served offline)."""
    return [asset.name for asset in pinned if not (directory / asset.name).is_file()]


def build(
    target: Path = ASSETS_DIR, pinned: tuple[Asset, ...] = ASSETS, where: str = "gateway/assets.py"
) -> None:
    """Copy the assets out of `explorer/node_modules`, refusing files that differ from the pins
    (`where` names the module that pins them)."""
    target.mkdir(parents=True, exist_ok=True)
    for asset in pinned:
        if not asset.source.is_file():
            raise FileNotFoundError(f"{asset.source} missing: run `npm ci` in explorer/ first")
        if sri(asset.source) != asset.integrity:
            raise ValueError(
                f"{asset.source} is not {asset.package}@{asset.version}/{asset.path} "
                f"as pinned in {where} (update the version and hash together)"
            )
        shutil.copyfile(asset.source, target / asset.name)


if __name__ == "__main__":
    try:
        build()
    except (FileNotFoundError, ValueError) as error:
        print(f"gateway.assets: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"GraphiQL assets copied to {ASSETS_DIR}")
