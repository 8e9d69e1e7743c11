/** The pure model: settings, tiers, PostgreSQL tuning, placement and the plan. No Pulumi imports. */
export * from "./findings";
export * from "./units";
export * from "./tiers";
export * from "./settings";
export * from "./postgres";
export * from "./placement";
export * from "./plan";
export * from "./render";
export * from "./resolve";
export * from "./report";
export * from "./traefik";
export * from "./diff";
export * from "./resourceView";
export * from "./secretsEnv";
export * from "./replication";
export * from "./monitoring";
export * from "./backup";
