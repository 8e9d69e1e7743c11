// pulumi-resource-docker for the engine rehearsal: the bridged Terraform docker provider, served
// with a Pulumi schema generated at build time from this same ProviderInfo.
//
// Why this one: neither pulumi-docker's provider module (github.com/pulumi/pulumi-docker/provider/v4,
// any version) nor any recent version of the Terraform docker provider it bridges is served by the Go
// module proxy here (tools/README.md lists each refusal). The one served version of the upstream is
// kreuzwerker/terraform-provider-docker at 2022-11-02 (the commit pulumi-docker v3.6.x pinned, the
// provider's v2.23 line). It is bridged here with pulumi-terraform-bridge v3.114.0 (the bridge
// pulumi-docker v4.9.0 pins), under the tokens @pulumi/docker's SDK sends, so the program's 5.x
// SDK talks to it. Its version is therefore ours: 5.2.0+advwell.kreuzwerker20221102 (build metadata, so
// the engine's ">=5.2.0" check for @pulumi/docker 5.2.0 holds).
//
//   pulumi-resource-docker tfgen schema --out generated   writes schema.json + bridge-metadata.json
//   pulumi-resource-docker                                 serves the provider to the engine
package main

import (
	"embed"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// version is set with -ldflags -X main.version=... (build.env); the bridge panics on an empty one.
var version string

//go:embed all:generated
var generated embed.FS

func providerInfo(metadata []byte) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            shimv2.NewProvider(shim.NewProvider(version)),
		Name:         "docker",
		Version:      version,
		License:      "Apache-2.0",
		Repository:   "https://github.com/pulumi/pulumi-docker",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		// Where @pulumi/docker's token is not the standard one (docker_config is ServiceConfig in the
		// SDK: @pulumi/docker 5.2.0 serviceConfig.js).
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_config": {Tok: "docker:index/serviceConfig:ServiceConfig"},
		},
	}
	info.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	return info
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "tfgen" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		tfgen.Main("docker", version, providerInfo(nil))
		return
	}
	schema, err := generated.ReadFile("generated/schema.json")
	if err != nil {
		panic("pulumi-resource-docker was built without its schema (build it with scripts/build-tools.sh): " + err.Error())
	}
	metadata, _ := generated.ReadFile("generated/bridge-metadata.json")
	tfbridge.Main("docker", version, providerInfo(metadata), schema)
}
