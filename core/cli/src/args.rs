//! The command line: the commands, long and short flags, choices, and the `--shared-cache` /
//! `--no-shared-cache` exclusion, as the argparse CLI of 0.2.0 had them. Defaults from the environment are applied in `fetch`, as argparse does: a flag
//! wins, an unset variable is no value, a set one (even empty) is its value.

use std::path::PathBuf;

use clap::builder::ArgAction;
use clap::{Args, Parser, Subcommand};

// argparse's layout: usage first, then the description and the flags.
const HELP: &str = "usage: {usage}\n\n{about-with-newline}\n{all-args}";

#[derive(Parser)]
#[command(
    name = "tokenkeeper",
    version,
    about = "Gets, caches and renews OAuth 2.0 access tokens the way Auth0 issues them.",
    help_template = HELP,
    subcommand_value_name = "COMMAND",
    subcommand_required = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    // argparse: a repeated flag's last value wins, and a long flag may be abbreviated.
    args_override_self = true,
    infer_long_args = true
)]
pub struct Cli {
    /// show program's version number and exit
    #[arg(long = "version", action = ArgAction::Version)]
    _version: Option<bool>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// print an access token
    #[command(
        help_template = HELP,
        long_about = "Prints an access token for AUDIENCE (client credentials). The client comes \
        from the flags or from AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_AUDIENCE. \
        Tokens are shared between runs through the shared file cache (--no-shared-cache: not), \
        so running it again makes no request while the token lasts."
    )]
    Token {
        #[command(flatten)]
        common: Common,
        /// print the token and its details as JSON
        #[arg(long)]
        json: bool,
    },
    /// print an Authorization header value (Bearer …)
    #[command(
        help_template = HELP,
        long_about = "Prints 'Bearer <access token>' for AUDIENCE, for \
        curl -H \"Authorization: $(tokenkeeper header --audience …)\". Flags as for 'token'."
    )]
    Header {
        #[command(flatten)]
        common: Common,
    },
    /// run the main job against an embedded local issuer
    #[command(
        help_template = HELP,
        long_about = "Starts the local issuer embedded in this binary, gets a token twice (the \
        second from the cache), verifies it with TokenVerifier against the issuer's JWKS, shows \
        its claims, single flight across threads, and the counters."
    )]
    Demo,
}

/// The flags of the client and of the request, shared by `token` and `header`.
#[derive(Args)]
pub struct Common {
    /// API identifier (default: $AUTH0_AUDIENCE)
    #[arg(long, short = 'a')]
    pub audience: Option<String>,
    /// space-separated scopes
    #[arg(long, short = 's')]
    pub scope: Option<String>,
    /// organization name or id (org_…)
    #[arg(long, short = 'o')]
    pub organization: Option<String>,
    /// tenant domain or URL (default: $AUTH0_DOMAIN)
    #[arg(long)]
    pub domain: Option<String>,
    /// default: $AUTH0_CLIENT_ID
    #[arg(long)]
    pub client_id: Option<String>,
    /// client secret, or '-' to read it from stdin (default: $AUTH0_CLIENT_SECRET; prefer '-',
    /// the variable or --client-secret-file: other users can read command lines)
    #[arg(long)]
    pub client_secret: Option<String>,
    /// read the client secret from this file
    #[arg(long)]
    pub client_secret_file: Option<PathBuf>,
    /// PEM private key for private_key_jwt, instead of a secret
    #[arg(long)]
    pub private_key_file: Option<PathBuf>,
    /// with --private-key-file (default: RS256)
    #[arg(long, value_parser = ["RS256", "PS256", "ES256"])]
    pub private_key_alg: Option<String>,
    #[arg(long, value_parser = ["client_secret_post", "client_secret_basic", "private_key_jwt"])]
    pub auth_method: Option<String>,
    /// request timeout, seconds
    #[arg(long, allow_negative_numbers = true)]
    pub timeout: Option<f64>,
    /// PEM file of extra CA certificates to trust for HTTPS, beside the system's (default:
    /// $TOKENKEEPER_CA_FILE)
    #[arg(long, value_name = "CA_FILE")]
    pub ca_file: Option<String>,
    /// where tokens are shared between runs: 'file' (the user's cache directory,
    /// $XDG_CACHE_HOME/tokenkeeper or ~/.cache/tokenkeeper), 'file:/some/dir', or a Redis
    /// server shared by a fleet: 'redis://host:6379/0', 'rediss://...',
    /// 'unix:///path/redis.sock' (default: $TOKENKEEPER_SHARED_CACHE, else 'file'; a Redis URL
    /// with a password belongs in the variable or --shared-cache-file: other users can read
    /// command lines)
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["no_shared_cache", "shared_cache_file"])]
    pub shared_cache: Option<String>,
    /// read the shared cache spec (as for --shared-cache) from this file
    #[arg(long, value_name = "FILE", conflicts_with = "no_shared_cache")]
    pub shared_cache_file: Option<PathBuf>,
    /// fetch a token of this run's own, sharing none with other runs
    #[arg(long)]
    pub no_shared_cache: bool,
}
