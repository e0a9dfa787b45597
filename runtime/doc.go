// Package runtime is berth's side of the OCI runtime: the runtime spec (config.json) of a container
// built as a plain value from what the user asked for, with Docker's defaults (capabilities, mounts,
// masked and read-only /proc paths, device rules, namespaces), the files Docker writes for a
// container (/etc/hosts, /etc/hostname, /etc/resolv.conf), user resolution against the image's
// /etc/passwd and /etc/group, and a small driver for runc (or crun) that runs it.
//
// Nothing here needs root until the driver executes the runtime: Spec is a function of its options
// (and, for a privileged container, of the capabilities the running kernel knows) and is tested as
// a value.
package runtime
