import { Duplex } from "node:stream";
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from "node:tls";
import { PacketSizeCheck, type PacketRefusal } from "./packetSizeCheck";

/**
 * A device's TLS socket as aedes reads it: every byte from the client passes the PacketSizeCheck first, and the
 * socket is destroyed, the offending chunk unread, when a packet breaks a limit. aedes takes any duplex stream
 * (`aedes.handle(stream)`); the check has to sit here, in front of its parser, which would otherwise buffer the
 * whole declared packet.
 */
export class SizeLimitedConnection extends Duplex {
  private readonly check: PacketSizeCheck;

  constructor(
    private readonly socket: TLSSocket,
    private readonly onRefused: (refusal: PacketRefusal) => void,
    maxMessageBytes?: number,
  ) {
    super({ allowHalfOpen: false });
    this.check = new PacketSizeCheck(maxMessageBytes);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("end", () => this.push(null));
    socket.on("error", (error) => this.destroy(error));
    socket.on("close", () => this.destroy());
  }

  /**
   * The client's certificate: mqtt/authenticate.ts reads it from aedes' connection to match X.509 identities;
   * `detailed` adds the issuers the client presented (the local DPS follows them to an enrollment group's CA).
   */
  getPeerCertificate(detailed?: boolean): PeerCertificate | DetailedPeerCertificate {
    return this.socket.getPeerCertificate(detailed === true);
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.forward([chunk], callback);
  }

  /** mqtt-packet corks the stream while it writes a packet in pieces: they leave in one TLS record, as before. */
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.forward(
      chunks.map(({ chunk }) => chunk),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }

  private forward(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    this.socket.cork();
    let writable = true;
    for (const chunk of chunks) {
      this.check.observeOutgoing(chunk);
      writable = this.socket.write(chunk);
    }
    this.socket.uncork();
    // Done as soon as the socket took the bytes; only a full socket holds the writer back (aedes then waits for
    // this stream's 'drain', as it would for the socket's).
    if (writable) callback();
    else this.socket.once("drain", () => callback());
  }

  private receive(chunk: Buffer): void {
    const refusal = this.check.inspect(chunk);
    if (refusal) {
      this.onRefused(refusal);
      this.socket.destroy();
      return;
    }
    if (!this.push(chunk)) this.socket.pause();
  }
}
