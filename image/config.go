// Package image is berth's image model and image store: the config and manifest of an image as
// values, and the Store that records images (content blobs, unpacked layers and names) and answers
// every image command: import, list, tag, remove, prune, inspect, history, save, load, disk usage.
package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/opencontainers/go-digest"
)

// Config is an image's config blob in the shape Docker writes it (a superset of the OCI image
// config: Docker adds comment, container, container_config and docker_version). Its digest is the
// image ID.
type Config struct {
	Architecture    string           `json:"architecture"`
	Author          string           `json:"author,omitempty"`
	Comment         string           `json:"comment,omitempty"`
	Config          *ContainerConfig `json:"config,omitempty"`
	Container       string           `json:"container,omitempty"`
	ContainerConfig *ContainerConfig `json:"container_config,omitempty"`
	Created         *time.Time       `json:"created,omitempty"`
	DockerVersion   string           `json:"docker_version,omitempty"`
	History         []History        `json:"history,omitempty"`
	OS              string           `json:"os"`
	OSVersion       string           `json:"os.version,omitempty"`
	OSFeatures      []string         `json:"os.features,omitempty"`
	Variant         string           `json:"variant,omitempty"`
	Parent          string           `json:"parent,omitempty"`
	RootFS          RootFS           `json:"rootfs"`
	// BuildCache is an inline build cache (`build --cache-to type=inline`): the steps that
	// made the image, by cache key, so that `--cache-from` of the image itself reuses them, as
	// BuildKit's inline cache ("moby.buildkit.cache.v0") does in its own format.
	BuildCache string `json:"io.berth.build.cache.v1,omitempty"`
}

// ContainerConfig is the run configuration an image carries, with Docker's field order and JSON
// tags (Docker prints empty fields as null/""/false, so most are not omitempty).
type ContainerConfig struct {
	Hostname        string              `json:"Hostname"`
	Domainname      string              `json:"Domainname"`
	User            string              `json:"User"`
	AttachStdin     bool                `json:"AttachStdin"`
	AttachStdout    bool                `json:"AttachStdout"`
	AttachStderr    bool                `json:"AttachStderr"`
	ExposedPorts    map[string]struct{} `json:"ExposedPorts,omitempty"`
	Tty             bool                `json:"Tty"`
	OpenStdin       bool                `json:"OpenStdin"`
	StdinOnce       bool                `json:"StdinOnce"`
	Env             []string            `json:"Env"`
	Cmd             []string            `json:"Cmd"`
	Healthcheck     *HealthConfig       `json:"Healthcheck,omitempty"`
	ArgsEscaped     bool                `json:"ArgsEscaped,omitempty"`
	Image           string              `json:"Image"`
	Volumes         map[string]struct{} `json:"Volumes"`
	WorkingDir      string              `json:"WorkingDir"`
	Entrypoint      []string            `json:"Entrypoint"`
	NetworkDisabled bool                `json:"NetworkDisabled,omitempty"`
	MacAddress      string              `json:"MacAddress,omitempty"`
	OnBuild         []string            `json:"OnBuild"`
	Labels          map[string]string   `json:"Labels"`
	StopSignal      string              `json:"StopSignal,omitempty"`
	StopTimeout     *int                `json:"StopTimeout,omitempty"`
	Shell           []string            `json:"Shell,omitempty"`
}

// HealthConfig is a HEALTHCHECK; durations are nanoseconds in JSON, as in Docker.
type HealthConfig struct {
	Test          []string      `json:",omitempty"`
	Interval      time.Duration `json:",omitempty"`
	Timeout       time.Duration `json:",omitempty"`
	StartPeriod   time.Duration `json:",omitempty"`
	StartInterval time.Duration `json:",omitempty"`
	Retries       int           `json:",omitempty"`
}

// History is one step of how the image was made.
type History struct {
	Created    *time.Time `json:"created,omitempty"`
	Author     string     `json:"author,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	Comment    string     `json:"comment,omitempty"`
	EmptyLayer bool       `json:"empty_layer,omitempty"`
}

// RootFS lists the image's layers by diff ID (digest of the uncompressed tar), bottom first.
type RootFS struct {
	Type    string          `json:"type"`
	DiffIDs []digest.Digest `json:"diff_ids"`
}

// ParseConfig decodes a config blob.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// ChainIDs returns the chain ID of each layer: the identity of a layer together with everything
// below it, which is what an unpacked layer directory stands for (OCI image-spec, config.md).
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		out[i] = ChainID(out[i-1], d)
	}
	return out
}

// ChainID is the chain ID of a layer diffID stacked on parent (a chain ID, "" for none).
func ChainID(parent, diffID digest.Digest) digest.Digest {
	if parent == "" {
		return diffID
	}
	h := sha256.Sum256([]byte(parent.String() + " " + diffID.String()))
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h[:]))
}

// Media types berth writes and reads.
const (
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	MediaTypeOCIConfig      = "application/vnd.oci.image.config.v1+json"
	MediaTypeOCILayer       = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeOCILayerGzip   = "application/vnd.oci.image.layer.v1.tar+gzip"
	MediaTypeOCILayerZstd   = "application/vnd.oci.image.layer.v1.tar+zstd"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"
)

// Descriptor points at a blob (OCI descriptor).
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      digest.Digest     `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Platform names an OS and CPU an image is for.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// Manifest is an OCI image manifest or a Docker schema 2 manifest (same shape).
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Index is an OCI image index or Docker manifest list.
type Index struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	Manifests     []Descriptor      `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}
