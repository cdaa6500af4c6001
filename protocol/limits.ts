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

/** Offset paging reads `page * pageSize` rows past the newest; past this depth clients must page
 * with a cursor or a timestamp instead (the store scans cannot be unbounded). */
export const PAGE_OFFSET_MAX = 10_000;

/** The snippet stored on a conversation row: the start of the last message, in characters. */
export const SNIPPET_CHARS_MAX = 100;

/** Largest page number accepted before it is even multiplied (keeps arithmetic safe). */
export const PAGE_INDEX_MAX = 1_000_000;

// ---- The ring ----

/** A slot's weight (its share of virtual nodes); ring changes outside it are INVALID_WEIGHT. */
export const SLOT_WEIGHT_MIN = 1;
export const SLOT_WEIGHT_MAX = 100;

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

// ---- The control plane ----

/** Redis control plane: the key prefix, 1-64 characters safe in a key and in a Cluster hash tag. */
export const REDIS_KEY_PREFIX_PATTERN = /^[A-Za-z0-9_:.{}-]{1,64}$/;
/** Redis control plane: a command timeout shorter than this fails on ordinary scheduling jitter. */
export const REDIS_COMMAND_TIMEOUT_MS_MIN = 5;
/** Redis control plane: the connect and start-up timeouts and the ring poll, at least this. */
export const REDIS_CONNECT_TIMEOUT_MS_MIN = 10;
/** Redis control plane: compare-and-set attempts one heartbeat may spend registering its node. */
export const REGISTRATION_ATTEMPTS_LIMIT = 100;
