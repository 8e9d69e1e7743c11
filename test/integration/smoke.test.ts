import { PgCluster } from "./support/pgCluster";
test("harness starts a cluster", async () => {
  const c = await PgCluster.start({ settings: { shared_buffers: "256MB" } });
  try {
    const rows = await c.query("SHOW shared_buffers");
    expect(rows[0].shared_buffers).toBe("256MB");
  } finally { c.destroy(); }
});
