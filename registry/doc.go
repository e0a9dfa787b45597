// Package registry is berth's registry server: the OCI distribution spec v1.1 (pull, push,
// content discovery with the referrers API, content management), the headers Docker clients
// expect (Docker-Distribution-API-Version, Docker-Content-Digest, Docker-Upload-UUID), and
// Docker Hub's v1 search endpoints so `docker search HOST/TERM` works against it.
//
// A Server is an http.Handler built by New from a Config; `berth registry serve` runs one.
//
// # Storage
//
// The filesystem by default (see store for the layout): blobs are content-addressed and shared by
// all repositories, each repository holds links to the blobs and manifests that are part of it,
// and every write is verified, fsynced and renamed into place before the client hears 201.
// Config.S3 puts everything in an S3-compatible bucket instead (s3Store), upload sessions and
// search descriptions included, so that replicas on several machines behind a load balancer
// serve one registry, any replica any request. Digests may be sha256 or sha512. A storage
// failure is answered 503 UNAVAILABLE, never as missing content. Repository names, tags and digests are checked against the spec's
// grammar before they become paths, so no request can reach outside the storage directory.
//
// # Uploads
//
// Monolithic (POST with ?digest=, or POST then PUT), streamed (PATCH without Content-Range) and
// chunked (PATCH with Content-Range, strictly in order: a chunk that does not start where the
// session ends is answered 416 with the session's Range) uploads, cross-repository mounts
// (?mount=&from=; without from only when the registry has no access control), and cancellation.
// Blobs larger than Config.MaxBlobSize and manifests larger than 4 MiB are refused with 413.
//
// # Access control
//
// Without Config.Htpasswd everything is open. With it, clients authenticate with HTTP Basic
// (bcrypt entries only) or, when Config.Auth.Token is set, with Docker's token protocol against
// the built-in /token endpoint. Config.Auth.Rules grant pull/push/delete per repository pattern
// and user; see Rule and AuthConfig. Denied logged-in users get 403, anonymous clients 401 with a
// challenge. The catalog and search list only repositories the client may pull.
//
// # Operations
//
// One log line per request (time, client, method, path, status, bytes, duration) goes to
// Config.Log; /metrics serves Prometheus text (requests by method and code, a latency
// histogram, bytes in and out, pushes). GC (filesystem) and gcS3 (a bucket, through GCConfig)
// collect unreferenced blobs and expire upload sessions while servers keep serving (their doc
// comments state the invariants). Config.Proxy turns the registry into a
// read-only pull-through cache of another registry.
package registry
