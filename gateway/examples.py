"""The example operations under `examples/`: GraphiQL's default document and the tests' inputs.

Each file holds one named operation. An operation that does not validate against the running
schema (say it uses a field another branch adds) is left out of the default document, with a log
line, so GraphiQL never opens on red squiggles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

logger = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

HEADER = """\
# Insights Gateway: example operations
# (the same files live under examples/ in the repository).
#
# Press the run button (or Ctrl-Enter) and pick an operation.
# Variables: $dayStart/$dayEnd are today in the workspace time
# zone, as a half-open range; edit them to look at another day.
# Left sidebar: the Docs (top icon) describe every type, field
# and metric; the GraphiQL Explorer (third icon) builds queries
# by ticking fields.
"""


@dataclass(frozen=True)
class Example:
    """One example file: its operation name and document text."""

    path: Path
    name: str
    text: str

    def errors(self, schema: GraphQLSchema) -> list[str]:
        """Validation errors of the document against `schema` (empty when it is valid)."""
        return [error.message for error in validate(schema, parse(self.text))]


def load_examples(directory: Path = EXAMPLES_DIR) -> list[Example]:
    """Every `*.graphql` file of `directory`, in file-name order; each must name one operation."""
    examples = []
    for path in sorted(directory.glob("*.graphql")):
        text = path.read_text()
        operations = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].name is None:
            raise ValueError(f"{path.name}: an example holds exactly one named operation")
        examples.append(Example(path=path, name=operations[0].name.value, text=text))
    return examples


def valid_examples(schema: GraphQLSchema, directory: Path = EXAMPLES_DIR) -> list[Example]:
    """The examples that validate against `schema`; the others are logged and left out."""
    kept = []
    for example in load_examples(directory):
        errors = example.errors(schema)
        if errors:
            logger.warning("example %s left out of GraphiQL: %s", example.path.name, errors[0])
        else:
            kept.append(example)
    return kept


def default_document(examples: list[Example]) -> str:
    """GraphiQL's opening document: a short guide, then every example operation."""
    return "\n".join([HEADER, *(example.text.strip() + "\n" for example in examples)])


def day_variables(day: date, tz: ZoneInfo) -> dict[str, str]:
    """`$dayStart`/`$dayEnd` for one day in the workspace time zone (a DST day has 23 or 25 h)."""
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return {"dayStart": start.isoformat(), "dayEnd": end.isoformat()}


def today_variables(tz: ZoneInfo) -> dict[str, str]:
    """`$dayStart`/`$dayEnd` for today in the workspace time zone."""
    return day_variables(datetime.now(tz).date(), tz)
