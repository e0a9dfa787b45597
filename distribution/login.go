package distribution

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DockerHubServer is the key Docker stores Docker Hub's credentials under.
const DockerHubServer = "https://index.docker.io/v1/"

// ServerKey is the key credentials for a registry are stored under in the Docker config file:
// Docker Hub's legacy URL, or the host[:port] of any other registry ("https://" and any path
// dropped, as Docker does).
func ServerKey(server string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	switch s {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		return DockerHubServer
	}
	return s
}

// registryHost is where a server key's registry API lives.
func registryHost(key string) string {
	if key == DockerHubServer {
		return name.DefaultRegistry
	}
	return key
}

// DockerConfigDir is $DOCKER_CONFIG or ~/.docker: where Docker and berth keep config.json.
func DockerConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".docker")
}

// LoginResult says where credentials went.
type LoginResult struct {
	Server string
	// PlainTextFile is the config file the password was written to when no credential helper
	// took it ("" when a helper stored it).
	PlainTextFile string
}

// Login checks username and password against the registry at server (its auth challenge: basic,
// or a bearer token from its token service) and, when they work, stores them in the Docker
// config file, or with the credential helper the file names for that server.
func Login(ctx context.Context, server, username, password string, o Options) (*LoginResult, error) {
	o.defaults()
	key := ServerKey(server)
	if username == "" || password == "" {
		return nil, errors.New("login needs a username and a password")
	}
	if err := CheckCredentials(ctx, key, username, password, o); err != nil {
		return nil, err
	}
	cf, err := config.Load(DockerConfigDir())
	if err != nil {
		return nil, err
	}
	ac := types.AuthConfig{Username: username, Password: password, ServerAddress: key}
	res := &LoginResult{Server: key}
	if usesFile(cf, key) {
		// Written here rather than through docker/cli's file store, which prints its own warning
		// to the process's stderr; the command line prints Docker's.
		cf.AuthConfigs[key] = ac
		if err := cf.Save(); err != nil {
			return nil, fmt.Errorf("error saving credentials: %w", err)
		}
		res.PlainTextFile = cf.Filename
		return res, nil
	}
	if err := cf.GetCredentialsStore(key).Store(ac); err != nil {
		return nil, fmt.Errorf("error saving credentials: %w", err)
	}
	return res, nil
}

func usesFile(cf *configfile.ConfigFile, key string) bool {
	if cf.CredentialHelpers[key] != "" {
		return false
	}
	return cf.CredentialsStore == ""
}

// CheckCredentials answers the registry's challenge with the credentials and calls GET /v2/.
func CheckCredentials(ctx context.Context, key, username, password string, o Options) error {
	o.defaults()
	host := registryHost(key)
	var opts []name.Option
	if o.insecure(host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return err
	}
	tlsCfg, err := o.tlsConfig(reg.RegistryStr())
	if err != nil {
		return err
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsCfg
	auth := authn.FromConfig(authn.AuthConfig{Username: username, Password: password})
	rt, err := transport.NewWithContext(ctx, reg, auth, transport.NewUserAgent(o.guard(base, reg.RegistryStr()), "berth"), nil)
	if err != nil {
		return registryError(reg, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return registryError(reg, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		// Docker's daemon words a refused login so (its /auth endpoint and `docker login`).
		return fmt.Errorf("login attempt to %s failed with status: %s", resp.Request.URL, resp.Status)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return registryError(reg, err)
	}
	return nil
}

// StoredCredentials are the username and password stored for server (config.json or its
// credential helper); empty when there are none.
func StoredCredentials(server string) (username, password string, err error) {
	key := ServerKey(server)
	cf, err := config.Load(DockerConfigDir())
	if err != nil {
		return "", "", err
	}
	ac, err := cf.GetCredentialsStore(key).Get(key)
	if err != nil {
		return "", "", err
	}
	return ac.Username, ac.Password, nil
}

// Logout removes the stored credentials for server. It reports whether there were any.
func Logout(server string) (key string, removed bool, err error) {
	key = ServerKey(server)
	cf, err := config.Load(DockerConfigDir())
	if err != nil {
		return key, false, err
	}
	_, inFile := cf.AuthConfigs[key]
	store := cf.GetCredentialsStore(key)
	ac, getErr := store.Get(key)
	if !inFile && (getErr != nil || (ac.Username == "" && ac.Password == "" && ac.IdentityToken == "")) {
		return key, false, nil
	}
	if err := store.Erase(key); err != nil {
		return key, false, fmt.Errorf("could not erase credentials: %w", err)
	}
	return key, true, nil
}
