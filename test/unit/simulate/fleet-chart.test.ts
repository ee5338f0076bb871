import { describe, expect, test } from "bun:test";
import { outageChart } from "../../../build/bench/fleet-chart.ts";

describe("the outage chart (build/bench-fleet.ts)", () => {
  test("one bar per non-empty second from `from`, the outage shaded, the axis in seconds since the return", () => {
    const answered = [5, 5, 5, 0, 0, 9, 7, 3];
    const reports = [0, 1, 0, 0, 0, 4, 0, 0];
    const svg = outageChart({ title: "3 devices <test>", answered, reports, outageFrom: 3, outageTo: 5, from: 1 });
    expect(svg).toStartWith("<svg");
    expect(svg).toContain("3 devices &lt;test&gt;");
    expect(svg).toContain("WFM down (2 s)");
    expect(svg.match(/fill="#4a7bb7"\/>/g)?.length).toBe(5 + 1); // seconds 1, 2, 5, 6, 7, and the legend
    expect(svg.match(/fill="#e08a2c"\/>/g)?.length).toBe(2 + 1); // seconds 1 and 5, and the legend
    expect(svg).toContain(">0</text>");
  });
});
