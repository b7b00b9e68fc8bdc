package xdsbootstrap_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
)

const validBootstrap = `{"xds_servers":[{"server_uri":"127.0.0.1:15010","channel_creds":[{"type":"insecure"}]}],"node":{"id":"n"}}`

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "valid", in: validBootstrap},
		{name: "empty", in: "  ", wantErr: "empty bootstrap"},
		{name: "malformed", in: `{"xds_servers": [`, wantErr: "malformed bootstrap json"},
		{name: "not an object", in: `[1]`, wantErr: "malformed bootstrap json"},
		{name: "no xds_servers", in: `{"node":{"id":"n"}}`, wantErr: "no xds_servers"},
		{name: "empty xds_servers", in: `{"xds_servers":[]}`, wantErr: "no xds_servers"},
		{name: "xds_servers not a list", in: `{"xds_servers":{}}`, wantErr: "bootstrap"},
		{name: "no server_uri", in: `{"xds_servers":[{"channel_creds":[{"type":"insecure"}]}]}`, wantErr: "missing server_uri"},
		{name: "no channel_creds", in: `{"xds_servers":[{"server_uri":"a:1"}]}`, wantErr: "missing channel_creds"},
		{name: "creds without type", in: `{"xds_servers":[{"server_uri":"a:1","channel_creds":[{}]}]}`, wantErr: "missing type"},
		{name: "bad node", in: `{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}],"node":{"id":7}}`, wantErr: "node"},
		{name: "authorities not an object", in: `{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}],"authorities":5}`, wantErr: "bootstrap"},
		{name: "authority server without creds", in: `{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}],"authorities":{"a":{"xds_servers":[{"server_uri":"b:1"}]}}}`, wantErr: `authorities["a"]: xds_servers[0]: missing channel_creds`},
		{name: "template not a string", in: `{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}],"client_default_listener_resource_name_template":5}`, wantErr: "bootstrap"},
		{name: "provider without plugin", in: `{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}],"certificate_providers":{"default":{}}}`, wantErr: "missing plugin_name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := xdsbootstrap.Validate([]byte(tc.in))
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
	assert.ErrorIs(t, xdsbootstrap.Validate([]byte(`{}`)), xdsbootstrap.ErrNoServers)
}

func TestWaitFileAppears(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "bootstrap.json")
	_, err := xdsbootstrap.ReadFile(path)
	require.ErrorIs(t, err, fs.ErrNotExist, "ReadFile() before the file exists")

	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := xdsbootstrap.WaitFile(ctx, path)
		done <- result{b, err}
	}()
	// A partly written file is not taken; the complete one is.
	require.NoError(t, os.WriteFile(path, []byte(`{"xds_servers": [`), 0o600))
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(validBootstrap), 0o600))
	require.NoError(t, os.Rename(tmp, path))
	got := <-done
	require.NoError(t, got.err)
	assert.JSONEq(t, validBootstrap, string(got.b))
}

func TestWaitFileNeverAppears(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	path := filepath.Join(t.TempDir(), "bootstrap.json")
	_, err := xdsbootstrap.WaitFile(ctx, path)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, path)
}

func TestWaitFileInvalid(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	path := filepath.Join(t.TempDir(), "bootstrap.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"node":{}}`), 0o600))
	_, err := xdsbootstrap.WaitFile(ctx, path)
	assert.ErrorIs(t, err, xdsbootstrap.ErrNoServers)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "WaitFile() = %v, want a deadline error", err)
}

func TestCheckCreds(t *testing.T) {
	supported := func(name string) bool { return name == "insecure" }
	assert.NoError(t, xdsbootstrap.CheckCreds([]byte(validBootstrap), supported))
	err := xdsbootstrap.CheckCreds([]byte(`{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"x"},{"type":"y"}]}]}`), supported)
	assert.ErrorContains(t, err, "xds_servers[0]: no supported channel_creds type in [x y]")
}

func TestWaitSkipAndCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "bootstrap.json")
	require.NoError(t, os.WriteFile(path, []byte(validBootstrap), 0o600))
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	_, err := xdsbootstrap.Wait{Skip: []byte(validBootstrap)}.File(short, path)
	assert.ErrorContains(t, err, "not rewritten since it failed", "Wait{Skip}.File() of an unchanged file")
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	rejected := errors.New("rejected")
	short2, cancelShort2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort2()
	_, err = xdsbootstrap.Wait{Check: func([]byte) error { return rejected }}.File(short2, path)
	assert.ErrorIs(t, err, rejected, "Wait{Check}.File()")

	rewritten := `{"xds_servers":[{"server_uri":"127.0.0.2:15010","channel_creds":[{"type":"insecure"}]}]}`
	done := make(chan []byte, 1)
	go func() {
		b, _ := xdsbootstrap.Wait{Interval: time.Millisecond, Skip: []byte(validBootstrap)}.File(ctx, path)
		done <- b
	}()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(rewritten), 0o600))
	require.NoError(t, os.Rename(tmp, path))
	assert.JSONEq(t, rewritten, string(<-done), "Wait{Skip}.File() after a rewrite")
	assert.Equal(t, "127.0.0.2:15010", xdsbootstrap.ServerURI([]byte(rewritten)))
	assert.Empty(t, xdsbootstrap.ServerURI([]byte(`{}`)))
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	assert.NoError(t, xdsbootstrap.CheckDir(filepath.Join(dir, "missing.json")), "file missing, directory there")
	err := xdsbootstrap.CheckDir(filepath.Join(dir, "nope", "b.json"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "directory "+filepath.Join(dir, "nope")+" does not exist")
	assert.ErrorContains(t, xdsbootstrap.CheckDir(filepath.Join(file, "b.json")), "is not a directory")
}

func TestCheckProviders(t *testing.T) {
	b := []byte(`{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}],` +
		`"certificate_providers":{"b":{"plugin_name":"p2","config":{}},"a":{"plugin_name":"p1","config":{"x":1}}}}`)
	var seen []string
	require.NoError(t, xdsbootstrap.CheckProviders(b, func(plugin string, config json.RawMessage) error {
		seen = append(seen, plugin+" "+string(config))
		return nil
	}))
	assert.Equal(t, []string{`p1 {"x":1}`, "p2 {}"}, seen, "providers in name order")
	err := xdsbootstrap.CheckProviders(b, func(plugin string, _ json.RawMessage) error { return errors.New("bad " + plugin) })
	assert.ErrorContains(t, err, `xdsbootstrap: certificate_providers["a"]: bad p1`)
}
