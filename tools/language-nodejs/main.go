// pulumi-language-nodejs for the engine rehearsal: a small Node.js language host of our own.
//
// Why our own: upstream's host is its own module
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, untagged), and the Go module
// proxy here refused every version of it we asked for (the pseudo-versions of the commits tagged
// pkg/v3.248.0 and sdk/v3.248.0, @latest, @master; see tools/README.md).
//
// It does what the engine needs for `pulumi preview/up/refresh/destroy` of a TypeScript program,
// the way upstream's host does it (sdk/nodejs/cmd/pulumi-language-nodejs/main.go at v3.248.0,
// Run/execRuntime/constructArguments/constructConfig): start `node <@pulumi/pulumi/cmd/run>` from the
// program's own node_modules with the monitor and engine addresses, the project, stack and flags as
// arguments, and the stack's config as PULUMI_CONFIG (keys as "<ns>:config:<name>") with the secret
// keys in PULUMI_CONFIG_SECRET_KEYS; PULUMI_NODEJS_TYPESCRIPT when Pulumi.yaml sets typescript.
//
// What it leaves out, on purpose: GetRequiredPackages reports none (the engine loads each provider
// when the program first registers one of its resources, from PATH with
// PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true); no monitor proxy and no --sync pipes (only the
// deprecated synchronous invokes need them; the program makes none); no dependency installs, policy
// packs (RunPlugin) or code generation: those answer Unimplemented, and the engine says so.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set with -ldflags -X main.version=... (build.env).
var version string

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// resolveRunScript finds @pulumi/pulumi/cmd/run the way Node itself would from the program folder,
// so the SDK version that runs is the program's own.
func resolveRunScript(ctx context.Context, node, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, node, "-e", "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/run'))")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot find @pulumi/pulumi/cmd/run from %s (is `npm ci` done there?): %w", dir, err)
	}
	return filepath.Dir(string(out)), nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return &pulumirpc.RunResponse{Error: "the engine sent no program info"}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath, err := resolveRunScript(ctx, node, info.ProgramDirectory)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	args := []string{runPath}
	opt := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	opt("monitor", req.GetMonitorAddress())
	opt("engine", h.engineAddress)
	opt("organization", req.GetOrganization())
	opt("project", req.GetProject())
	opt("root-directory", info.RootDirectory)
	opt("stack", req.GetStack())
	opt("pwd", info.ProgramDirectory)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	opt("parallel", strconv.Itoa(int(req.GetParallel())))
	entry := info.EntryPoint
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	// The SDK still reads config keys in the old "<namespace>:config:<name>" form (upstream's
	// constructConfig says why).
	cfg := map[string]string{}
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return &pulumirpc.RunResponse{Error: err.Error()}, nil
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, _ := json.Marshal(cfg)
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, _ := json.Marshal(secretKeys)
	env := append(os.Environ(), "PULUMI_CONFIG="+string(cfgJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON))
	if opts := info.GetOptions().AsMap(); opts["typescript"] != false {
		// Pulumi.yaml's runtime.options.typescript defaults to true (upstream parseOptions).
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
		if p, ok := opts["tsconfig"].(string); ok && p != "" {
			env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+p)
		}
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = info.ProgramDirectory
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// 32: the SDK already showed the user an actionable message (upstream's
			// nodeJSProcessExitedAfterShowingUserActionableMessage): bail without another.
			if exit.ExitCode() == 32 {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: "Problem executing program (could not run language executor): " + err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

func main() {
	// The engine starts language plugins as `pulumi-language-nodejs [flags] <engine address>`
	// (sdk/v3 go/common/resource/plugin/langruntime_plugin.go buildArgsForNewPlugin); flags such as
	// -tracing are accepted and ignored.
	var engineAddress string
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			engineAddress = a
		}
	}
	h := &host{engineAddress: engineAddress}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "could not start the language host's RPC server:", err)
		os.Exit(1)
	}
	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintln(os.Stderr, "language host RPC stopped serving:", err)
		os.Exit(1)
	}
}
