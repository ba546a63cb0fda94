// main.cpp: `deploy-privileged [--policy FILE] nginx-install|certbot|nginx-reload ...`: the root
// helper (commands.hpp). Everything but the command line lives in privileged_lib.
#include <iostream>

#include "common/cli.hpp"
#include "common/version.hpp"
#include "deploy-privileged/commands.hpp"

int main(int argc, char** argv) {
  privileged::Invocation invocation;
  std::string policy;
  std::vector<std::string> install(3), domains;
  std::string deployment;
  return common::run_main(
      "deploy-privileged", argc, argv,
      [&](CLI::App& app) {
        app.description(
            "Installs nginx site files and obtains certificates for the deployments its policy "
            "(" +
            privileged::kDefaultPolicyPath.string() + ") allows. Run through sudo.");
        app.add_option("--policy", policy, "policy file (only for root itself, not through sudo)")
            ->type_name("FILE");
        app.set_version_flag("--version", "deploy-privileged " + std::string(common::version));
        app.require_subcommand(1);
        auto* nginx_install = app.add_subcommand(
            "nginx-install", "install FILE as the nginx site SITE of DEPLOYMENT, test, reload");
        nginx_install->add_option("deployment", install[0])->required();
        nginx_install->add_option("site", install[1])->required();
        nginx_install->add_option("file", install[2])->required();
        auto* certbot =
            app.add_subcommand("certbot", "obtain or renew the certificate for DOMAIN...");
        certbot->add_option("deployment", deployment)->required();
        certbot->add_option("domains", domains)->required();
        auto* reload =
            app.add_subcommand("nginx-reload", "test the nginx configuration and reload");
        reload->add_option("deployment", deployment)->required();
        nginx_install->callback([&] { invocation = {"nginx-install", install, {}}; });
        certbot->callback([&] {
          invocation = {"certbot", {deployment}, {}};
          invocation.args.insert(invocation.args.end(), domains.begin(), domains.end());
        });
        reload->callback([&] { invocation = {"nginx-reload", {deployment}, {}}; });
      },
      [&] {
        if (!policy.empty()) invocation.policy_file = policy;
        std::cout << privileged::execute(invocation, privileged::current_caller()) << std::endl;
        return 0;
      });
}
