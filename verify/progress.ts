/** A one-line progress display on a terminal; silent when stderr is not a TTY (pipelines, tests). */
export class Progress {
  private done = 0;
  private failed = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    /** What is being verified, as the line names it. */
    private readonly what = "modules",
  ) {
    this.enabled = stream.isTTY === true;
    this.draw();
  }

  moduleFinished(ok: boolean): void {
    this.done++;
    if (!ok) this.failed++;
    this.draw();
  }

  finish(): void {
    if (this.enabled) this.stream.write("\r\x1b[2K");
  }

  private draw(): void {
    if (!this.enabled) return;
    const failed = this.failed > 0 ? `, ${this.failed} failed` : "";
    this.stream.write(`\r\x1b[2Kverifying ${this.what}: ${this.done}/${this.total} done${failed}`);
  }
}
