import {
  MAX_CONTROL_PACKET_BYTES,
  MAX_MESSAGE_BYTES,
  PacketSizeCheck,
  type PacketRefusal,
} from "../../local-hub/mqtt/packetSizeCheck";

// The framing rules on bytes as they arrive, in any chunking: what the socket tests cannot steer (TLS decides
// where chunks end).

/** MQTT's variable byte integer. */
function remainingLength(length: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return bytes;
}

/** A whole packet: fixed header byte, remaining length, then `body` (zeros unless given). */
function packet(header: number, body: Buffer | number): Buffer {
  const content = typeof body === "number" ? Buffer.alloc(body) : body;
  return Buffer.concat([Buffer.from([header, ...remainingLength(content.length)]), content]);
}

/** A PUBLISH of `payloadBytes` on a 10-byte topic, QoS 1 (so with a packet id). */
function publish(payloadBytes: number): Buffer {
  const topic = Buffer.from("devices/d/");
  return packet(
    0x32,
    Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.from([0, 1]), Buffer.alloc(payloadBytes)]),
  );
}

const ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const NOT_AUTHORIZED = Buffer.from([0x20, 0x02, 0x00, 0x05]);

/** Feeds `bytes` one at a time (the worst chunking); returns the first refusal and how many bytes it took. */
function byteByByte(check: PacketSizeCheck, bytes: Buffer): { refusal?: PacketRefusal; after: number } {
  for (let i = 0; i < bytes.length; i++) {
    const refusal = check.inspect(bytes.subarray(i, i + 1));
    if (refusal) return { refusal, after: i + 1 };
  }
  return { after: bytes.length };
}

describe("PacketSizeCheck", () => {
  it("before CONNACK lets a CONNECT of 8 KB through and refuses one byte more at its length field", () => {
    expect(new PacketSizeCheck().inspect(packet(0x10, MAX_CONTROL_PACKET_BYTES))).toBeUndefined();
    const { refusal, after } = byteByByte(new PacketSizeCheck(), packet(0x10, MAX_CONTROL_PACKET_BYTES + 1));
    expect(refusal).toEqual({
      packetType: "CONNECT",
      bytes: MAX_CONTROL_PACKET_BYTES + 1,
      rule: "a packet before CONNACK may be at most 8192 bytes",
    });
    expect(after).toBe(3); // header byte and the two length bytes: nothing of the body
  });

  it("before CONNACK a PUBLISH pipelined after the CONNECT is held to the same 8 KB", () => {
    const check = new PacketSizeCheck();
    expect(check.inspect(packet(0x10, 100))).toBeUndefined();
    expect(check.inspect(publish(MAX_CONTROL_PACKET_BYTES))).toMatchObject({ packetType: "PUBLISH" });
  });

  it("after CONNACK 0 a 256 KB payload passes and one byte more is refused at the topic length", () => {
    const check = new PacketSizeCheck();
    check.observeOutgoing(ACCEPTED.subarray(0, 1)); // the hub writes it in pieces
    check.observeOutgoing(ACCEPTED.subarray(1));
    expect(byteByByte(check, publish(MAX_MESSAGE_BYTES)).refusal).toBeUndefined();
    const { refusal, after } = byteByByte(check, publish(MAX_MESSAGE_BYTES + 1));
    expect(refusal).toEqual({
      packetType: "PUBLISH",
      bytes: MAX_MESSAGE_BYTES + 1,
      rule: "a message may be at most 262144 bytes",
    });
    expect(after).toBe(1 + 3 + 2);
  });

  it("after CONNACK packets other than PUBLISH stay at 8 KB", () => {
    const check = new PacketSizeCheck();
    check.observeOutgoing(ACCEPTED);
    expect(check.inspect(packet(0x82, MAX_CONTROL_PACKET_BYTES + 1))).toEqual({
      packetType: "SUBSCRIBE",
      bytes: MAX_CONTROL_PACKET_BYTES + 1,
      rule: "a packet other than PUBLISH may be at most 8192 bytes",
    });
  });

  it("a refusing CONNACK (5, not authorized) lifts no limit", () => {
    const check = new PacketSizeCheck();
    check.observeOutgoing(NOT_AUTHORIZED);
    expect(check.inspect(publish(MAX_CONTROL_PACKET_BYTES))).toMatchObject({
      rule: "a packet before CONNACK may be at most 8192 bytes",
    });
  });

  it("refuses a remaining length that runs past 4 bytes", () => {
    const check = new PacketSizeCheck();
    check.observeOutgoing(ACCEPTED);
    expect(check.inspect(Buffer.from([0xc0, 0x80, 0x80, 0x80, 0x80]))).toEqual({
      packetType: "PINGREQ",
      bytes: 0,
      rule: "a remaining length takes at most 4 bytes",
    });
  });

  it("follows packets across chunk boundaries: many small packets in one chunk, one packet over many", () => {
    const check = new PacketSizeCheck();
    check.observeOutgoing(ACCEPTED);
    const stream = Buffer.concat([publish(10), packet(0xc0, 0), publish(MAX_MESSAGE_BYTES), packet(0xe0, 0)]);
    for (let i = 0; i < stream.length; i += 1000) {
      expect(check.inspect(stream.subarray(i, i + 1000))).toBeUndefined();
    }
    // Still in step: the next header is read as a header.
    expect(check.inspect(packet(0x82, MAX_CONTROL_PACKET_BYTES + 1))).toMatchObject({
      packetType: "SUBSCRIBE",
    });
  });
});
