// Types of liveroom.js, the JS client of liveroom (docs/PROTOCOL.md).

/** One message of a room (PROTOCOL.md section 1). */
export interface Message {
  ts: number;
  seq: number;
  pri: "system" | "high" | "normal" | "low";
  kind: string;
  uid: string;
  cmid?: string;
  name?: string;
  meta?: Record<string, unknown>;
  pin_until?: number;
  body: unknown;
}

/** The server's answer to a join. */
export interface Joined {
  op: "joined";
  room: string;
  epoch: string;
  ts: number;
  seq: number;
  online: number;
  id?: number;
  [field: string]: unknown;
}

/** Why the client gave up for good; connect() starts it again. */
export type StopReason = "replaced" | "banned" | "unauthorized" | "expired";

export interface LiveRoomOptions {
  /** The WebSocket URL (ws://host/v1/ws); or baseURL and uid to ask /v1/route. */
  url?: string;
  baseURL?: string;
  uid?: string;
  /** A viewer JWT. */
  token?: string;
  /** Called for a token on every reconnect and before the current one expires. */
  getToken?: () => Promise<string> | string;
  /** Dev mode only: log in as this uid without a token. */
  devUid?: string;
  /** Join every room with push: the server writes the windows, the client does not pull. */
  push?: boolean;
  /** Messages per pull (default 100, the server caps it at pull_limit). */
  pullLimit?: number;
  /** The longest reconnect backoff in ms (default 10000). */
  maxBackoffMs?: number;
}

export interface JoinOptions {
  /** Resume after this ts. */
  since?: number;
  /** Overrides the client's push option for this room. */
  push?: boolean;
}

export interface SendOptions {
  kind?: string;
  body: unknown;
  pri?: "high" | "normal" | "low";
  cmid?: string;
}

export interface Events {
  message: (room: string, msg: Message) => void;
  notice: (room: string, msg: Message) => void;
  dropped: (room: string, n: number) => void;
  state: (state: "connecting" | "open" | "closed") => void;
  kick: (room: string | null, reason: string) => void;
  joined: (room: string, info: Joined) => void;
  stopped: (reason: StopReason) => void;
  authed: (exp: number) => void;
  close: (code: number, reason: string) => void;
  error: (room: string | null, frame: unknown) => void;
}

export class LiveRoom {
  constructor(opts: LiveRoomOptions);
  readonly state: "connecting" | "open" | "closed";
  /** Why the client stopped, or null. */
  readonly stopped: StopReason | null;
  readonly stats: { messages: number; dropped: number; notifies: number; pulls: number };
  on<E extends keyof Events>(event: E, fn: Events[E]): this;
  connect(): Promise<void>;
  close(): void;
  join(room: string, opts?: JoinOptions): Promise<Joined | null>;
  leave(room: string): Promise<unknown>;
  send(room: string, msg: SendOptions): Promise<{ op: "sent"; room: string; ts: number; seq: number; dup?: boolean }>;
}
