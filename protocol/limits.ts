/**
 * Every limit in one place (TigerBeetle style: put a limit on everything): the bounds the wire
 * contract fixes, and the bounds of every tunable option (the options' defaults live beside the
 * component that uses them, in its one DEFAULT_..._OPTIONS object; their checks use these bounds).
 */

// ---- The public API (the wire contract) ----

/** `content` must be strictly fewer than this many UTF-8 bytes (DESIGN.md: "fewer than 65,536"). */
export const CONTENT_BYTES_LIMIT = 65_536;

/** Largest accepted request body. Content may be 65,535 bytes of JSON-escaped text (up to 6x when
 * every character is a control character escaped as \u00XX), plus the other fields. */
export const REQUEST_BODY_BYTES_LIMIT = 512 * 1024;

export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** clientMessageId: opaque to us, but bounded and printable so it can key an index. */
export const CLIENT_MESSAGE_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

export const PAGE_SIZE_MIN = 1;
export const PAGE_SIZE_MAX = 200;
export const CONVERSATIONS_PAGE_SIZE_DEFAULT = 20;
export const MESSAGES_PAGE_SIZE_DEFAULT = 50;

/** The change feed (`GET /v1/users/:userId/changes`): the longest a request may be held (`waitMs`)
 * waiting for a change, and the changes per answer when `pageSize` is not given. Held requests
 * are bounded per user and per node (`ChangeFeedOptions`), not by the in-flight limit. */
export const WATCH_WAIT_MS_MAX = 30_000;
export const WATCH_PAGE_SIZE_DEFAULT = 100;
/** How far behind the mailbox's version a change-feed cursor may be replayed from the store;
 * further back is `410 CURSOR_EXPIRED` (the app lists again). A replay reads one row range plus
 * one range per changed conversation, so this bounds its store reads. */
export const FEED_REPLAY_VERSIONS_MAX = 1_000;
/** ChangeFeedOptions: upper bounds of its settings. */
export const FEED_LOG_CHANGES_LIMIT = 10_000;
export const WATCHERS_PER_USER_LIMIT = 1_000;
export const WATCHERS_PER_NODE_LIMIT = 1_000_000;

/** Offset paging reads `page * pageSize` rows past the newest; past this depth clients must page
 * with a cursor or a timestamp instead (the store scans cannot be unbounded). */
export const PAGE_OFFSET_MAX = 10_000;

/** The snippet stored on a conversation row: the start of the last message, in characters. */
export const SNIPPET_CHARS_MAX = 100;

/** Largest page number accepted before it is even multiplied (keeps arithmetic safe). */
export const PAGE_INDEX_MAX = 1_000_000;

// ---- HTTP servers (transport/http-server.ts: every router and node) ----

/** Any HTTP server timeout (headers, request, keep-alive, idle), at least this: below it ordinary
 * scheduling jitter would cut healthy clients off. */
export const HTTP_TIMEOUT_MS_MIN = 10;
/** The request line and headers (Node's maxHeaderSize): a real request with the longest path and
 * a cursor is under 1 KiB of them, so 4 KiB is the smallest limit an operator may set ... */
export const HTTP_HEADERS_BYTES_MIN = 4_096;
/** ... and 64 KiB the largest (no chatring request needs more; Node's default is 16 KiB). */
export const HTTP_HEADERS_BYTES_MAX = 65_536;
/** The longest path parameter the API defines: a conversation id, two 64-character user ids and
 * the separator. A path parameter limit below it would refuse valid requests. */
export const PATH_PARAM_CHARS_MIN = 2 * 64 + 1;
/** Open connections one HTTP server may be set to accept at once (`connectionsMax`). */
export const HTTP_CONNECTIONS_LIMIT = 1_000_000;
/** Requests one HTTP server may be set to handle at once (`requestsInFlightMax`). */
export const REQUESTS_IN_FLIGHT_LIMIT = 1_000_000;
/** The longest Retry-After an overloaded server may ask for, in seconds. */
export const RETRY_AFTER_SECONDS_MAX = 3_600;
/** A connection refused past `connectionsMax` gets its 503 and is closed once the client closes,
 * or after this long: enough for the client to send its request and read the answer (closing on
 * unread bytes would reset the connection and lose the answer), short enough that refused
 * connections cannot pile up. */
export const REFUSED_CONNECTION_LINGER_MS = 1_000;

// ---- The ring ----

/** A slot's weight (its share of virtual nodes); ring changes outside it are INVALID_WEIGHT. */
export const SLOT_WEIGHT_MIN = 1;
export const SLOT_WEIGHT_MAX = 100;
/** A ring's epoch. Every change adds one, so no real cluster gets near 2^40 (35 years at 1,000
 * changes a second), and epoch + 1 stays exact. A node never adopts a ring above it: one that did
 * would ignore every real ring after it. */
export const RING_EPOCH_MAX = 2 ** 40;
/** All virtual nodes of a ring (the sum over slots of virtualNodesPerWeight × weight). Every router
 * and node builds its RingView on its event loop at about 7-14 µs and 400 bytes per virtual node
 * (1,024,000: 10-14 s, ~400 MB); the largest local cluster (64 slots) at SLOT_WEIGHT_MAX at the
 * default 160 fits, the 100 M the other bounds alone allow (a stalled node for minutes) does not. */
export const RING_VIRTUAL_NODES_LIMIT = 1_048_576;
/** A release names the ring the change will publish (the control plane's epoch + 1); a live node
 * lags that by the few epochs published since its last renewal. One further ahead is refused: the
 * node would refuse the moving users until a ring at that epoch came, maybe never. */
export const RING_RELEASE_EPOCH_AHEAD_MAX = 1_000;

// ---- Control-plane timing (the same bounds on every backend and every command line) ----

/** A node's lease: below 100 ms a heartbeat's own round trip and a GC pause eat the lease. */
export const LEASE_MS_MIN = 100;
export const LEASE_MS_MAX = 600_000;
/** Renewal interval; must also stay below the lease (a lease needs renewals). */
export const HEARTBEAT_INTERVAL_MS_MIN = 10;
export const HEARTBEAT_INTERVAL_MS_MAX = 60_000;
/** Any other timeout or interval option, in ms (one hour). */
export const TIMEOUT_MS_MAX = 3_600_000;

// ---- A local cluster (`chatring start`) ----

export const LOCAL_NODES_MAX = 64;
export const LOCAL_STANDBYS_MAX = 16;
export const LOCAL_ROUTERS_MAX = 8;
/** The highest TCP port a router or node listens on (0 asks for any free port). */
export const LISTEN_PORT_MAX = 65_535;

// ---- Warm handoff ----

/** Default cached state one node hands to new owners per ring change (0: users always move cold). */
export const WARM_HANDOFF_BYTES_DEFAULT = 64 * 1024 * 1024;
/** A user whose cached state is larger than this moves cold (a warm batch must stay bounded). */
export const WARM_USER_BYTES_MAX = 8 * 1024 * 1024;
/** Warm states whose change's ring has not arrived within this are dropped. */
export const PENDING_WARM_TTL_MS = 120_000;
/** Body limit of the warm route: a batch is at most batchBytesMax plus one user, as JSON. */
export const WARM_BATCH_BODY_BYTES_LIMIT = 64 * 1024 * 1024;

// ---- The store ----

/** Cassandra store: copies of every row per data center (15 is already far beyond any real need). */
export const CASSANDRA_REPLICATION_FACTOR_MAX = 15;
/** Cassandra store: any timeout option (request, attempt, connect, schema), in ms (ten minutes). */
export const CASSANDRA_TIMEOUT_MS_MAX = 600_000;
/** Cassandra store: above a year per partition a busy conversation's partition would outgrow what
 * Cassandra reads well. */
export const MESSAGE_BUCKET_MS_MAX = 366 * 24 * 60 * 60 * 1000;
/** Cassandra store: mailbox versions per partition of the change logs behind the cursor. */
export const VERSIONS_PER_BUCKET_MAX = 1_000_000;

// ---- The cache node ----

/** UserLockTable: the most requests `waitersMax` may let wait on one user's lock. */
export const LOCK_WAITERS_LIMIT = 10_000;
/** MailboxCache and MailboxService: the longest message window per cached conversation
 * (`windowMessagesMax`, `windowMessagesLoaded`). */
export const WINDOW_MESSAGES_LIMIT = 10_000;
/** MailboxCache: the most empty mailboxes kept in their own LRU (`emptyMailboxesMax`). */
export const EMPTY_MAILBOXES_LIMIT = 1_000_000;
/** MailboxService: the most conversations loaded with a mailbox (`recentConversationsLoaded`). */
export const CONVERSATIONS_LOADED_LIMIT = 10_000;
/** RepairQueue: the most retries of one half-sent message (`repairAttemptsMax`). */
export const REPAIR_ATTEMPTS_LIMIT = 1_000;
/** RepairQueue: the most half-sent messages awaiting repair at once (`repairsMax`). */
export const REPAIRS_PENDING_LIMIT = 1_000_000;
/** RepairQueue: the exponential backoff between repair attempts stops growing here. */
export const REPAIR_BACKOFF_MS_MAX = 30_000;
/** Handoff: the largest warm batch (`batchBytesMax`). A batch plus its last user (at most
 * WARM_USER_BYTES_MAX), even at twice the estimate once JSON, stays under the warm route's body limit. */
export const WARM_BATCH_BYTES_LIMIT = 16 * 1024 * 1024;
/** Internal bodies: a ring's slots (each one's weight is SLOT_WEIGHT_MIN..SLOT_WEIGHT_MAX). */
export const RING_SLOTS_LIMIT = 1_024;
/** Internal bodies: the nodes a ring knows (serving, standing by, parked or gone). */
export const RING_NODES_LIMIT = 10_000;
/** Internal bodies: a ring's virtual nodes per unit of weight (160 in new rings). */
export const VIRTUAL_NODES_PER_WEIGHT_LIMIT = 1_000;
/** Internal bodies: a node's advertised URL, in characters. */
export const NODE_URL_CHARS_LIMIT = 2_048;
/** Internal bodies: a ring change's id (a UUID in practice): printable ASCII, bounded. */
export const CHANGE_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
/** Internal bodies: a message id (a UUID in practice): printable ASCII, bounded, the same in the
 * cache and in every store. */
export const MESSAGE_ID_PATTERN = /^[\x21-\x7e]{1,64}$/;
/** Deliver and warm batches: a time (sentAt, lastUpdatedTimestamp) at most this far ahead of the
 * receiving node's wall clock. sentAt strictly increases per conversation, so one far-future time
 * would stamp every later message after it (2^53 - 1: no later message at all). NTP keeps nodes
 * within milliseconds; a minute is room for a badly drifting one. */
export const DELIVER_CLOCK_SKEW_MS_MAX = 60_000;
/** Deliver: a proposed sentAt at most this far behind the receiving node's clock. A proposal is
 * max(now, last + 1) when sent, so it arrives at most the owner client's retry budget plus one
 * attempt plus the skew old (seconds; 2 h with both timeouts at TIMEOUT_MS_MAX). Half-sent repairs
 * never deliver (they commit the coordinator's copy locally, with the time the other owner fixed),
 * and even their longest schedule (REPAIR_ATTEMPTS_LIMIT × REPAIR_BACKOFF_MS_MAX, 8 h 20 min) fits. */
export const DELIVER_SENT_AT_AGE_MS_MAX = 24 * 60 * 60 * 1000;
/** Warm batches: mailboxes per batch. A batch is under WARM_BATCH_BYTES_LIMIT plus one user of
 * WARM_USER_BYTES_MAX (24 MiB) of estimates, each mailbox charged at least 600 bytes: ≤ 41,944. */
export const WARM_BATCH_SNAPSHOTS_LIMIT = 65_536;
/** Warm batches: conversations of one mailbox. A user over WARM_USER_BYTES_MAX moves cold and each
 * cached row is charged 400 bytes (more than 256), so a warm one has fewer than this. */
export const WARM_SNAPSHOT_CONVERSATIONS_LIMIT = WARM_USER_BYTES_MAX / 256;
/** A conversation's unread count: the Cassandra column is a 32-bit int. */
export const UNREAD_COUNT_MAX = 2_147_483_647;

// ---- The control plane ----

/** Redis control plane: the key prefix, 1-64 characters safe in a key and in a Cluster hash tag. */
export const REDIS_KEY_PREFIX_PATTERN = /^[A-Za-z0-9_:.{}-]{1,64}$/;
/** Redis control plane: a command timeout shorter than this fails on ordinary scheduling jitter. */
export const REDIS_COMMAND_TIMEOUT_MS_MIN = 5;
/** Redis control plane: the connect and start-up timeouts and the ring poll, at least this. */
export const REDIS_CONNECT_TIMEOUT_MS_MIN = 10;
/** Redis control plane: compare-and-set attempts one heartbeat may spend registering its node. */
export const REGISTRATION_ATTEMPTS_LIMIT = 100;

// ---- Authentication (docs/security.md) ----

/** The cluster secret members sign with: at least 256 bits (the launcher generates 32 random bytes). */
export const CLUSTER_SECRET_BYTES_MIN = 32;
/** A member signature is accepted this far from the receiver's wall clock, either way (NTP keeps
 * hosts within milliseconds; a replay inside the window changes nothing, docs/security.md). */
export const MEMBER_SIGNATURE_WINDOW_MS = 30_000;
/** App and operator bearer tokens: at least this long when given in plain (not as a sha256: hash). */
export const BEARER_TOKEN_CHARS_MIN = 16;
/** Tokens accepted at once per role (rotation needs two; a handful per app fleet). */
export const BEARER_TOKENS_MAX = 64;
/** A member placed nowhere (no slot, not standing by, parked or admitted) and silent this long is
 * forgotten: it must be admitted again to rejoin (in-process control plane; docs/security.md). */
export const MEMBER_RETENTION_MS = 3_600_000;

// ---- Secrets and certificates named by options (protocol/secret-files.ts) ----

/**
 * A password, from any source: 1 to this many bytes of UTF-8. Redis and Cassandra take longer ones;
 * no real secret needs them, and a password file must not be a whole disk.
 */
export const PASSWORD_BYTES_MAX = 4_096;
/** A PEM file (a CA bundle, a certificate, a key): the system's CA bundle is about 220 KB. */
export const PEM_FILE_BYTES_MAX = 1_048_576;
/** MailboxService: the idempotency window (`idempotencyWindowMs`), a retry within it of the
 * original's sentAt always recognised. The default is a day; the least is a minute (longer than
 * any retry schedule of the router or the typed client); the most 30 days (memory holds a window's
 * keys per mailbox, bounded per mailbox, so a longer one mostly sends sends to the store). */
export const IDEMPOTENCY_WINDOW_MS_DEFAULT = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_WINDOW_MS_MIN = 60_000;
export const IDEMPOTENCY_WINDOW_MS_MAX = 30 * 24 * 60 * 60 * 1000;
