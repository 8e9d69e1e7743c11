/**
 * The `dev` stack deployed on a real single-node Swarm by the program itself, with the stand-in
 * images, endpointMode=dnsrr and backups to s3rver (test/swarm/rehearsal.yaml), then checked.
 * Run through `npm run test:swarm`, which starts the daemon and loads the images.
 */
import { describeDeployedStack } from "./lib/scenario";

jest.setTimeout(20 * 60_000);

describeDeployedStack("dev stack (starter tier) on a real Swarm", { stack: "dev" });
