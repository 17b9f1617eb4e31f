// Types of liveroom.js, the JS client of liveroom (docs/PROTOCOL.md).

/** One message of a room (PROTOCOL.md section 1). */
export interface Message {
  ts: number;
  seq: number;
  pri: "system" | "high" | "normal" | "low";
  kind: string;
  uid: string;
  /** The sender's idempotency key; an unpin notice's is "unpin:<ts>". */
  cmid?: string;
  /** The speaker's display name (the token's name claim, or the backend's post). */
  name?: string;
  /** The speaker's meta (avatar, level, badge: a JSON object of at most 256 bytes). */
  meta?: Record<string, unknown>;
  /** A pinned notice: pinned until then (unix microseconds). */
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
  /** The ts the session starts from: only when the join asked for recent messages. */
  since?: number;
  /** The room's pinned notices in force, oldest first. */
  pinned: Message[];
  /** The room's counters' totals. */
  counters?: Record<string, number>;
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
  /**
   * add() sums the deltas per room and counter and sends each sum once this many ms (default
   * 1000), as adds of at most 100; 0 sends every add at once.
   */
  addEvery?: number;
}

export interface JoinOptions {
  /** Resume after this ts (wins over recent). */
  since?: number;
  /**
   * Start just before the room's N newest messages (0 to the server's pull_limit, 200 by
   * default): they come as "message" events, with every protected message after them.
   */
  recent?: number;
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
  /** Every message of a joined room, in ts order (the recent ones of a join first). */
  message: (room: string, msg: Message) => void;
  /** A system message (also a "message"). */
  notice: (room: string, msg: Message) => void;
  /** Messages the server skipped or evicted for this viewer. */
  dropped: (room: string, n: number) => void;
  /** A window whose msgs + dropped was not its seq advance (next_seq): n seqs unaccounted. */
  gap: (room: string, n: number) => void;
  /** The pinned notices in force, oldest first: on every joined and when they change. */
  pinned: (room: string, pins: Message[]) => void;
  /** The room's viewers, cluster-wide, when the count changes. */
  online: (room: string, n: number) => void;
  /** Counter totals ({likes: 123}) from joined, counters frames and pushed windows; online when the frame had it. */
  counters: (room: string, totals: Record<string, number>, online?: number) => void;
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
  /** taps: the deltas given to add(), summed; adds: the add frames that carried them. */
  readonly stats: { messages: number; dropped: number; gaps: number; notifies: number; pulls: number; taps: number; adds: number };
  on<E extends keyof Events>(event: E, fn: Events[E]): this;
  connect(): Promise<void>;
  close(): void;
  join(room: string, opts?: JoinOptions): Promise<Joined | null>;
  leave(room: string): Promise<unknown>;
  /** The room's pinned notices in force, oldest first. */
  pinned(room: string): Message[];
  /**
   * Add delta (a positive integer, default 1) to a counter of a joined room: summed with the
   * room's other adds to the counter and sent within addEvery ms (before a leave or close; a
   * room whose session dropped sends its sums once rejoined), without a reply unless refused
   * (an "error" event with room null). False when not connected (nothing counted); a delta
   * that is not a positive integer throws a RangeError.
   */
  add(room: string, counter: string, delta?: number): boolean;
  send(room: string, msg: SendOptions): Promise<{ op: "sent"; room: string; ts: number; seq: number; dup?: boolean }>;
}
