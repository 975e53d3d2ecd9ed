import { Progress } from "../../verify/progress";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return {
    writes,
    stream: { isTTY, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream,
  };
}

describe("Progress", () => {
  it("redraws one line on a terminal, counting failures, and clears it at the end", () => {
    const { writes, stream } = fakeStream(true);
    const progress = new Progress(3, stream);
    progress.moduleFinished(true);
    progress.moduleFinished(false);
    progress.finish();
    expect(writes).toEqual([
      "\r\x1b[2Kverifying modules: 0/3 done",
      "\r\x1b[2Kverifying modules: 1/3 done",
      "\r\x1b[2Kverifying modules: 2/3 done, 1 failed",
      "\r\x1b[2K",
    ]);
  });

  it("stays silent when the stream is not a terminal (pipelines)", () => {
    const { writes, stream } = fakeStream(false);
    const progress = new Progress(2, stream);
    progress.moduleFinished(true);
    progress.finish();
    expect(writes).toEqual([]);
  });
});
