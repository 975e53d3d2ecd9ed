/**
 * IoT Hub's limits on the size of what a device sends over MQTT, checked on the raw bytes of one connection.
 *
 * aedes' parser (mqtt-packet) keeps a whole packet in memory before it looks at it, for any length the packet
 * declares (MQTT allows 256 MB). This check reads only each packet's fixed header (and a PUBLISH's topic length),
 * skips the rest, and names the first packet that breaks a limit as soon as its header arrives: the connection can
 * then be closed before anything past the limit was kept.
 */

/**
 * The largest packet (remaining length) a client may send before the hub accepted its CONNECT, and the largest
 * packet other than PUBLISH after that. A device's CONNECT is a client id (two ids of <= 128 characters), a user name
 * (`{host}/{clientId}/?api-version=...&DeviceClientType=...`) and a SAS token: under 3 KB even with every id
 * character URL-encoded. SUBSCRIBE, UNSUBSCRIBE and acknowledgements are smaller.
 */
export const MAX_CONTROL_PACKET_BYTES = 8 * 1024;

/**
 * IoT Hub's device-to-cloud message limit, which bounds a PUBLISH's payload (telemetry, twin patches, method
 * answers). IoT Hub closes the connection of a device that sends a larger message (docs/field-notes.md, IoT Hub's
 * rules).
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

const PUBLISH = 3;
const CONNACK_HEADER = 0x20;
const PACKET_NAMES = [
  "reserved packet type 0",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "reserved packet type 15",
];

/** Why a connection is to be closed: the rule its packet broke, for the hub's log (never the packet's content). */
export interface PacketRefusal {
  packetType: string;
  /** The size the rule measures: the remaining length, or a PUBLISH's payload. */
  bytes: number;
  rule: string;
}

type Stage = "type" | "length" | "topicLength" | "rest";

export class PacketSizeCheck {
  /** True once the hub's CONNACK accepted the connection. */
  private accepted = false;
  private readonly connack: number[] = [];
  private stage: Stage = "type";
  private typeByte = 0;
  private remainingLength = 0;
  private lengthBytes = 0;
  private topicLength: number[] = [];
  /** Bytes of the current packet still to skip. */
  private toSkip = 0;

  /** `maxMessageBytes`: the largest PUBLISH payload after CONNACK (the DPS's device endpoint takes less). */
  constructor(private readonly maxMessageBytes = MAX_MESSAGE_BYTES) {}

  /**
   * The hub's own bytes to the client: its first packet is the CONNACK, whose return code 0 lifts the limit for
   * PUBLISH from the control-packet size to the message size.
   */
  observeOutgoing(chunk: Buffer): void {
    for (let i = 0; i < chunk.length && this.connack.length < 4; i++) this.connack.push(chunk[i]);
    if (this.connack.length === 4 && !this.accepted) {
      this.accepted = this.connack[0] === CONNACK_HEADER && this.connack[3] === 0;
    }
  }

  /** The client's next bytes; the first refusal ends the connection, so later bytes need no checking. */
  inspect(chunk: Buffer): PacketRefusal | undefined {
    let i = 0;
    while (i < chunk.length) {
      switch (this.stage) {
        case "type":
          this.typeByte = chunk[i++];
          this.remainingLength = 0;
          this.lengthBytes = 0;
          this.stage = "length";
          break;
        case "length": {
          const byte = chunk[i++];
          // A variable byte integer: 7 bits per byte, least significant first, at most 4 bytes.
          this.remainingLength += (byte & 0x7f) * 128 ** this.lengthBytes;
          this.lengthBytes++;
          if (byte & 0x80) {
            if (this.lengthBytes === 4) {
              return this.refuse(this.remainingLength, "a remaining length takes at most 4 bytes");
            }
            break;
          }
          const refusal = this.checkDeclaredLength();
          if (refusal) return refusal;
          break;
        }
        case "topicLength": {
          this.topicLength.push(chunk[i++]);
          this.toSkip--;
          if (this.topicLength.length < 2) break;
          const refusal = this.checkPayload();
          if (refusal) return refusal;
          break;
        }
        case "rest": {
          const skipped = Math.min(this.toSkip, chunk.length - i);
          i += skipped;
          this.toSkip -= skipped;
          if (this.toSkip === 0) this.stage = "type";
          break;
        }
      }
    }
    return undefined;
  }

  private checkDeclaredLength(): PacketRefusal | undefined {
    const isPublish = this.typeByte >> 4 === PUBLISH;
    if (this.accepted && isPublish && this.remainingLength >= 2) {
      this.topicLength = [];
      this.toSkip = this.remainingLength;
      this.stage = "topicLength";
      return undefined;
    }
    if (this.remainingLength > MAX_CONTROL_PACKET_BYTES && !(this.accepted && isPublish)) {
      return this.refuse(
        this.remainingLength,
        this.accepted
          ? `a packet other than PUBLISH may be at most ${MAX_CONTROL_PACKET_BYTES} bytes`
          : `a packet before CONNACK may be at most ${MAX_CONTROL_PACKET_BYTES} bytes`,
      );
    }
    this.skip(this.remainingLength);
    return undefined;
  }

  private checkPayload(): PacketRefusal | undefined {
    const qos = (this.typeByte >> 1) & 0x03;
    const topicBytes = this.topicLength[0] * 256 + this.topicLength[1];
    const payload = this.remainingLength - 2 - topicBytes - (qos > 0 ? 2 : 0);
    if (payload > this.maxMessageBytes) {
      return this.refuse(payload, `a message may be at most ${this.maxMessageBytes} bytes`);
    }
    this.skip(this.toSkip);
    return undefined;
  }

  private skip(bytes: number): void {
    this.toSkip = bytes;
    this.stage = bytes === 0 ? "type" : "rest";
  }

  private refuse(bytes: number, rule: string): PacketRefusal {
    return { packetType: PACKET_NAMES[this.typeByte >> 4], bytes, rule };
  }
}
