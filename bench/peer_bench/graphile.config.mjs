// PostGraphile 5 as bench/peer_bench serves it: the Amber preset (PostGraphile's default),
// @graphile/pg-aggregates for `groupedAggregates`, and the connection-filter plugin for the
// report's time range. peer_bench copies this file into its npm scratch folder, next to the
// packages it imports, and passes the connection string and port in the environment.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PgAggregatesPreset } from "@graphile/pg-aggregates";
import { PostGraphileConnectionFilterPreset } from "postgraphile-plugin-connection-filter";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, PgAggregatesPreset, PostGraphileConnectionFilterPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.PEER_BENCH_DATABASE_URL,
      schemas: ["public"],
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PEER_BENCH_PORT),
    graphiql: false,
  },
  grafast: { explain: false },
};

export default preset;
