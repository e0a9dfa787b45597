package metadata

// migrations is the whole schema, in order. Each entry runs once, in the same transaction that
// bumps PRAGMA user_version to its index+1; never edit an entry that has shipped, append a new one.
//
//	images        one row per image, keyed by image ID (the config digest). Everything `images`
//	              lists or filters on is a column here, so a listing is one query.
//	image_layers  the image's layers, bottom first, by chain ID.
//	image_blobs   every blob an image needs (manifest, config, layer blobs): GC's roots for blobs.
//	layers        unpacked layers (layers/<chain hex>/diff), shared by every image using them.
//	names         "docker.io/library/busybox:latest" (kind tag) or ".../busybox@sha256:..." (kind
//	              digest) → image ID. A name points at exactly one image.
//	containers    containers and what they hold on to (their image), with their record and state as JSON.
//	volumes       named volumes (their data lives in volumes/<name>/_data).
//	gc_candidates blobs and layers that may be on disk without anything needing them: written
//	              before a blob or layer is moved into the store (a writer killed before it
//	              records the image leaves one) and when a record stops referring to one. GC
//	              deletes only these, once nothing refers to them: content the database does
//	              not know about is never taken for garbage.
//	networks      networks: Docker's predefined bridge, host and none (made by the migration, with
//	              random IDs as dockerd gives them) and the user's, with their record as JSON.
//	endpoints     a running container's attachment to a network: its name, aliases and address,
//	              which the per-container DNS resolvers read and `network rm` checks.
//	listing_gen   one row: a random value replaced (by triggers) on every change to images or
//	              names; it tags the image listing's cache, state.db.listcache.
var migrations = []string{
	`CREATE TABLE images (
		id            TEXT PRIMARY KEY,
		manifest      TEXT NOT NULL,
		media_type    TEXT NOT NULL,
		created       INTEGER NOT NULL, -- unix nanoseconds, from the config
		size          INTEGER NOT NULL, -- sum of the layers' unpacked sizes
		parent        TEXT NOT NULL DEFAULT '',
		labels        TEXT NOT NULL DEFAULT '',  -- JSON object, '' when none
		last_tag_time INTEGER NOT NULL DEFAULT 0,
		added         INTEGER NOT NULL
	);
	CREATE TABLE image_layers (
		image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		idx      INTEGER NOT NULL,
		chain_id TEXT NOT NULL,
		PRIMARY KEY (image_id, idx)
	);
	CREATE INDEX image_layers_chain ON image_layers(chain_id);
	CREATE TABLE image_blobs (
		image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		digest   TEXT NOT NULL,
		PRIMARY KEY (image_id, digest)
	);
	CREATE INDEX image_blobs_digest ON image_blobs(digest);
	CREATE TABLE layers (
		chain_id TEXT PRIMARY KEY,
		diff_id  TEXT NOT NULL,
		parent   TEXT NOT NULL DEFAULT '',
		size     INTEGER NOT NULL
	);
	CREATE TABLE names (
		name     TEXT PRIMARY KEY,
		image_id TEXT NOT NULL REFERENCES images(id),
		kind     INTEGER NOT NULL,
		updated  INTEGER NOT NULL
	);
	CREATE INDEX names_image ON names(image_id);
	CREATE TABLE containers (
		id       TEXT PRIMARY KEY,
		name     TEXT NOT NULL UNIQUE,
		image_id TEXT NOT NULL,
		created  INTEGER NOT NULL,
		size_rw  INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX containers_image ON containers(image_id);`,
	// Containers: config is the container's JSON record (what create decided), state its JSON
	// lifecycle state (what happened since); volumes are named volumes under volumes/<name>.
	`ALTER TABLE containers ADD COLUMN config TEXT NOT NULL DEFAULT '';
	ALTER TABLE containers ADD COLUMN state TEXT NOT NULL DEFAULT '';
	CREATE TABLE volumes (
		name    TEXT PRIMARY KEY,
		driver  TEXT NOT NULL,
		created INTEGER NOT NULL,
		labels  TEXT NOT NULL DEFAULT '',
		options TEXT NOT NULL DEFAULT '',
		anonymous INTEGER NOT NULL DEFAULT 0
	);`,
	// Build cache: one row per cached build step, keyed by the step's cache key. A row holds on to
	// its layer (chain_id, '' for a step that changed no file) and that layer's blob, so GC must
	// treat both as roots (see metadata/buildcache.go).
	`CREATE TABLE build_cache (
		key          TEXT PRIMARY KEY,
		parent_chain TEXT NOT NULL DEFAULT '',
		chain_id     TEXT NOT NULL DEFAULT '',
		diff_id      TEXT NOT NULL DEFAULT '',
		blob         TEXT NOT NULL DEFAULT '',
		media_type   TEXT NOT NULL DEFAULT '',
		blob_size    INTEGER NOT NULL DEFAULT 0,
		size         INTEGER NOT NULL DEFAULT 0,
		created      INTEGER NOT NULL,
		last_used    INTEGER NOT NULL,
		description  TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX build_cache_chain ON build_cache(chain_id);
	CREATE INDEX build_cache_blob ON build_cache(blob);`,
	// GC by positive knowledge (issue 12): see gc_candidates above. kind is 'blob' or 'layer'.
	`CREATE TABLE gc_candidates (
		kind TEXT NOT NULL,
		id   TEXT NOT NULL,
		PRIMARY KEY (kind, id)
	);`,
	// Networks and their endpoints. A predefined network's config is '' (the network package
	// knows what bridge, host and none are); a user-defined one's is its JSON record.
	`CREATE TABLE networks (
		id      TEXT PRIMARY KEY,
		name    TEXT NOT NULL UNIQUE,
		created INTEGER NOT NULL,
		config  TEXT NOT NULL DEFAULT ''
	);
	INSERT INTO networks(id, name, created) VALUES
		(lower(hex(randomblob(32))), 'bridge', CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) * 1000),
		(lower(hex(randomblob(32))), 'host', CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) * 1000),
		(lower(hex(randomblob(32))), 'none', CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) * 1000);
	CREATE TABLE endpoints (
		network_id   TEXT NOT NULL REFERENCES networks(id),
		container_id TEXT NOT NULL,
		endpoint_id  TEXT NOT NULL,
		name         TEXT NOT NULL, -- the container's name
		aliases      TEXT NOT NULL DEFAULT '', -- JSON array: --network-alias, the short ID
		ip           TEXT NOT NULL DEFAULT '',
		prefix       INTEGER NOT NULL DEFAULT 0,
		mac          TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (network_id, container_id)
	);
	CREATE INDEX endpoints_container ON endpoints(container_id);`,
	// An endpoint's IPv6 address on a network with IPv6 enabled ('' otherwise), for the resolver's
	// AAAA answers and network inspect.
	`ALTER TABLE endpoints ADD COLUMN ip6 TEXT NOT NULL DEFAULT '';
	ALTER TABLE endpoints ADD COLUMN prefix6 INTEGER NOT NULL DEFAULT 0;`,
	// The image listing's cache (metadata/listcache.go): listing_gen holds one random value that
	// every change to images or names replaces, in the writer's own transaction, so a cached
	// listing tagged with it is current exactly while the value is unchanged. Triggers rather
	// than Go code, so no writer (nor an older berth on a newer database) can forget it; random
	// rather than a counter, so a value lost with a commit (synchronous=NORMAL after a power
	// loss) is never handed out again for other content.
	`CREATE TABLE listing_gen (gen INTEGER NOT NULL);
	INSERT INTO listing_gen VALUES (random());
	CREATE TRIGGER images_ins_gen AFTER INSERT ON images BEGIN UPDATE listing_gen SET gen = random(); END;
	CREATE TRIGGER images_upd_gen AFTER UPDATE ON images BEGIN UPDATE listing_gen SET gen = random(); END;
	CREATE TRIGGER images_del_gen AFTER DELETE ON images BEGIN UPDATE listing_gen SET gen = random(); END;
	CREATE TRIGGER names_ins_gen AFTER INSERT ON names BEGIN UPDATE listing_gen SET gen = random(); END;
	CREATE TRIGGER names_upd_gen AFTER UPDATE ON names BEGIN UPDATE listing_gen SET gen = random(); END;
	CREATE TRIGGER names_del_gen AFTER DELETE ON names BEGIN UPDATE listing_gen SET gen = random(); END;`,
}
