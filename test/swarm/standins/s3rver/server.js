"use strict";
/**
 * S3 for the rehearsal: the project's s3rver package on the overlay network, standing in for AWS
 * S3 and IAM. It accepts the access key the stack's (mocked) IAM AccessKey returned, read from
 * Swarm secret files, so the backup job signs its requests with the stack's own credentials; any
 * other key is refused. Buckets named in S3_BUCKETS exist from the start (the mocked
 * aws.s3.Bucket "created" them). Requests to <bucket>.s3.<S3_SERVICE_ENDPOINT> (virtual-hosted
 * style, which the aws CLI uses for a custom endpoint with a DNS-compatible bucket) and to
 * s3.<S3_SERVICE_ENDPOINT>/<bucket> (path style) both work.
 */
const fs = require("fs");
const S3rver = require("s3rver");
const AWSAccount = require("s3rver/lib/models/account");

const read = (name) => fs.readFileSync(process.env[name], "utf8").trim();
const keyId = read("S3_ACCESS_KEY_ID_FILE");
AWSAccount.DUMMY_ACCOUNT.createKeyPair(keyId, read("S3_SECRET_ACCESS_KEY_FILE"));
// Only the stack's key: the fixed S3RVER/S3RVER pair would let an unconfigured client through.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
const buckets = (process.env.S3_BUCKETS || "").split(",").filter(Boolean).map((name) => ({ name }));
const server = new S3rver({
  address: "0.0.0.0",
  port: Number(process.env.S3_PORT || 5000),
  directory: process.env.S3_DIRECTORY || "/var/lib/s3rver",
  serviceEndpoint: process.env.S3_SERVICE_ENDPOINT || "amazonaws.com",
  configureBuckets: buckets,
  silent: false,
});
server.run().then(({ address, port }) => {
  process.stdout.write(`s3rver stand-in on ${address}:${port}, key ${keyId.slice(0, 4)}..., buckets ${buckets.map((b) => b.name).join(", ") || "(none)"}\n`);
});
const stop = () => server.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
