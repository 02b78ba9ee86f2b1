use clap::{Args, Parser, Subcommand, ValueEnum};
use detek_render::Format;
use std::path::PathBuf;

/// `-f`: the renderers' own formats (detek-render), listed in `--help` and checked by clap.
fn output_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        Format::ALL.map(|f| PossibleValue::new(f.name()).help(f.description())),
    )
    .map(|name| name.parse::<Format>().expect("a listed format"))
}

/// detek — Detection as Code for Kubernetes.
///
/// Every known issue an on-call engineer has seen once is a detector: detek collects what the
/// detectors need, runs them all, and reports what is wrong, why it matters and how to fix it.
///
/// Quick start:
///   detek run --demo -f table          scan the bundled demo cluster
///   detek run --input manifests/ -f table
///   detek run --input k8s/ -f sarif    SARIF for code scanning (-f junit: JUnit XML)
///   detek run --input k8s/ --baseline old.json
///                                      fail only on findings not in old.json (an -f json report)
///   kubectl get pods,svc,endpoints,nodes -A -o yaml | detek run --input - -f json
///   detek run --os-cloud mycloud -f table
///                                      an OpenStack cloud (clouds.yaml; or OS_* variables)
///   detek run --context prod --os-cloud mycloud
///                                      a cluster and the cloud it runs on, Nodes joined to VMs
///   detek list                          the detector catalogue
///   detek explain oomkilled_container   one detector's documentation
///   detek fleet scan --kubeconfig-dir /etc/detek/kubeconfigs --database-url postgres://...
///                                      one pass over a fleet into the hub's database
#[derive(Debug, Parser)]
#[command(name = "detek", version, about, long_about, verbatim_doc_comment)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan and report.
    ///
    /// Formats (-f): html (default), json (the versioned contract), table (terminals),
    /// sarif (SARIF 2.1.0 for code scanning), junit (JUnit XML for CI test reports).
    ///
    /// In CI (docs/ci.md):
    ///   detek run --input k8s/ -f table --fail-on error    a pre-commit hook
    ///   detek run --input k8s/ -f sarif -o detek.sarif     upload to code scanning
    ///   detek run --input k8s/ -f junit -o junit.xml       a CI test report
    ///   detek run --input k8s/ -f json -o base.json --fail-on never
    ///                                                      record a baseline (on main)
    ///   detek run --input k8s/ --baseline base.json        fail only on new findings
    ///
    /// Exit codes: 0 the scan is complete and no finding is at or above --fail-on (with
    /// --baseline: no new one); 1 findings at or above it; 2 usage, config or plan errors, an
    /// unreadable baseline, a report that could not be written, a scan in which nothing could
    /// be collected, or a partial scan (any Unknown) unless --allow-partial.
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// Show what a scan would do: collectors and detectors, their keys, and what cannot run.
    Plan(PlanArgs),
    /// List the detector catalogue.
    List(ListArgs),
    /// Show one detector's documentation: what it detects, why it matters, how to fix it.
    Explain(ExplainArgs),
    /// Serve the fleet hub: the cluster list, each cluster's reports and history, the REST
    /// API and /metrics (docs/hub.md).
    ///
    ///   detek serve --demo                 a few clusters with weeks of history, to look around
    ///   detek serve --token "$TOKEN"       take reports pushed to POST /api/scans
    ///   detek serve --database-url postgres://hub@db/hub --listen 0.0.0.0:8080
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Scan a fleet of clusters into the hub's database (DESIGN.md §7, docs/hub.md).
    Fleet(FleetArgs),
    /// Explain why a Pod's containers restarted or keep failing: the last termination decoded
    /// (exit code, signal, reason), the Pod's and its Node's events around it, the Node's
    /// conditions, the previous run's last log lines (live clusters), and a verdict from the
    /// table of known causes, with the fix (docs/restart-forensics.md).
    ///
    ///   detek why pod/some-pod-xfce -n shop        the current kubeconfig context
    ///   detek why deploy/web -n shop               every Pod of a Deployment (also sts/,
    ///                                              ds/, rs/, job/, cronjob/)
    ///   detek why pod/init-demo -n message-pod-crashloop-backoff --demo
    ///   detek why pod/web-0 -n shop --input dump/  a `kubectl get -o yaml` dump
    ///
    /// Exit codes: 0 explained (or nothing restarted); 2 no such Pod or workload, or the
    /// cluster or files could not be read.
    #[command(verbatim_doc_comment)]
    Why(WhyArgs),
    /// Write, test and check detectors in Rego (docs/policies.md): `detek policy new NAME`,
    /// `detek policy test DIR`, `detek policy check DIR`; run them with `--policy-dir DIR`.
    Policy(PolicyCommandArgs),
}

#[derive(Debug, Clone, Args)]
pub struct WhyArgs {
    /// What to explain: `pod/NAME`, or a workload whose Pods to explain: `deploy/NAME`,
    /// `sts/NAME`, `ds/NAME`, `rs/NAME`, `job/NAME`, `cronjob/NAME` (kubectl's names and
    /// short names). A bare NAME is a Pod.
    #[arg(value_name = "KIND/NAME")]
    pub object: String,

    /// Namespace of the object (default: `default`). On a live cluster only this namespace's
    /// objects are read.
    #[arg(short = 'n', long, value_name = "NS", default_value = "default")]
    pub namespace: String,

    /// Only this container of the Pod (default: every container that restarted, is
    /// terminated with an error, or is waiting to start).
    #[arg(short = 'c', long, value_name = "NAME")]
    pub container: Option<String>,

    /// Read the object from manifests or dumps instead of a live cluster (repeatable; a
    /// file, a directory, or `-`).
    #[arg(short = 'i', long = "input", value_name = "PATH")]
    pub inputs: Vec<String>,

    /// Read it from the demo snapshot compiled into the binary.
    #[arg(long, conflicts_with = "inputs")]
    pub demo: bool,

    /// Live cluster: the kubeconfig file (default: $KUBECONFIG, the in-cluster service
    /// account, ~/.kube/config).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["inputs", "demo"])]
    pub kubeconfig: Option<PathBuf>,

    /// Live cluster: kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["inputs", "demo"])]
    pub context: Option<String>,

    /// The instant to judge against, RFC 3339 (default: now for a live cluster, the newest
    /// time files hold).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// Live cluster: time allowed for each request (30s, 2m, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,

    /// Output: text (default) or json.
    #[arg(short = 'f', long, value_enum, default_value = "text")]
    pub format: WhyFormat,

    /// Do not show the log line a known error signature matched (the verdict still names
    /// the signature).
    #[arg(long)]
    pub no_log_excerpts: bool,

    /// Where to read the container's memory and CPU throttling before the termination from
    /// (as `detek run`); without a Prometheus the answer says it could not read them.
    #[command(flatten)]
    pub metrics: MetricsArgs,

    /// Config file (default: ./detek.yaml or ./.detek.yaml): its `prometheus:` and
    /// `forensics:` (your own causes and log signatures) sections apply.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhyFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Manifest or dump to scan: a file, a directory (read recursively: *.yaml, *.yml,
    /// *.json) or `-` for stdin. Repeatable. Multi-document YAML, JSON, `kind: List` and
    /// `kubectl get -o yaml|json` output are all understood.
    #[arg(short = 'i', long = "input", value_name = "PATH")]
    pub inputs: Vec<String>,

    /// Scan the demo snapshot compiled into the binary (a small cluster with known issues).
    #[arg(long, conflicts_with = "inputs")]
    pub demo: bool,

    /// Kubernetes version to check API deprecations and removals against, e.g. 1.32
    /// (default: the cluster's version, or the newest known release for manifests).
    #[arg(long, value_name = "VERSION")]
    pub target_version: Option<String>,

    /// The instant every time-based detector judges against (certificate expiry, ages, "not
    /// run since"), RFC 3339, e.g. 2026-01-13T19:00:00Z. Default: the time of the scan for a
    /// live cluster; for files, the newest time they hold (a node heartbeat, an event, a
    /// creation time), so an old dump is judged as it was when taken. Every report prints it.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// Live cluster: the kubeconfig file. Without --input/--demo detek scans a live cluster,
    /// found in this order: --kubeconfig, $KUBECONFIG, the in-cluster service account (in a
    /// Pod), ~/.kube/config.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["inputs", "demo"])]
    pub kubeconfig: Option<PathBuf>,

    /// Live cluster: kubeconfig context to scan (repeatable; default: the current context).
    /// Each context is its own section of the report; the exit code is the worst.
    #[arg(long = "context", value_name = "NAME", conflicts_with_all = ["inputs", "demo"])]
    pub contexts: Vec<String>,

    /// Live cluster: scan every context of the kubeconfig.
    #[arg(long, conflicts_with_all = ["inputs", "demo", "contexts"])]
    pub all_contexts: bool,

    /// Live cluster: read namespaced objects of this namespace only (cluster-scoped objects
    /// such as Nodes are still read).
    #[arg(short = 'n', long, value_name = "NS", conflicts_with_all = ["inputs", "demo"])]
    pub namespace: Option<String>,

    /// Live cluster: read namespaced objects matching this label selector only, e.g.
    /// `app=shop,tier!=db` (cluster-scoped objects are read whole).
    #[arg(short = 'l', long, value_name = "SELECTOR", conflicts_with_all = ["inputs", "demo"])]
    pub label_selector: Option<String>,

    /// Live cluster: objects per list request (limit/continue pages). 0, the default, asks
    /// for each kind's whole list in one request, as `kubectl get --raw` does, which the API
    /// server answers from its cache (1.8× faster than pages of 500 at 100k objects); a whole list
    /// that gets no answer within --request-timeout is asked again 500 at a time.
    #[arg(long, value_name = "N", default_value_t = 0, conflicts_with_all = ["inputs", "demo"])]
    pub chunk_size: u32,

    /// Live cluster or cloud: time allowed for each request to the API server, Keystone or
    /// an OpenStack service (30s, 2m, 500ms). 429 and 5xx answers are retried with backoff,
    /// honouring Retry-After up to this long.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,

    /// OpenStack cloud to scan: its entry in clouds.yaml (+ secure.yaml), searched in
    /// $OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack/, /etc/openstack/ (docs/openstack.md).
    /// Without it, $OS_CLOUD names the cloud, else the OS_* variables ($OS_AUTH_URL,
    /// $OS_USERNAME, $OS_PASSWORD, $OS_PROJECT_NAME, ... or $OS_APPLICATION_CREDENTIAL_ID and
    /// _SECRET) describe it; a cloud named only by the environment is scanned when no cluster
    /// is asked for (--kubeconfig, --context, --all-contexts, --input, --demo). A cloud is a
    /// target of its own; with --context it is scanned beside the cluster, and Nodes whose
    /// providerID is openstack:///ID are joined to their servers (node_vm_not_active).
    #[arg(long = "os-cloud", value_name = "NAME")]
    pub os_cloud: Option<String>,

    #[command(flatten)]
    pub metrics: MetricsArgs,

    #[command(flatten)]
    pub cost: crate::cost::CostArgs,

    #[command(flatten)]
    pub ssh: crate::nodes::SshArgs,
}

/// Where the metric detectors (and `detek why`) read metrics from: a Prometheus, or
/// `/metrics` endpoints; the config file's `prometheus:` fills what is not given.
#[derive(Debug, Clone, Default, Args)]
pub struct MetricsArgs {
    /// Prometheus to read the metric detectors' data from (its HTTP API): `http(s)://HOST:PORT`
    /// with any path prefix. Credentials: --prometheus-token-file, or --prometheus-user with
    /// $DETEK_PROMETHEUS_PASSWORD; or the config file's `prometheus:` (docs/prometheus.md).
    /// Without a Prometheus or --metrics-url the metric detectors are skipped.
    #[arg(long, value_name = "URL", conflicts_with = "prometheus_service")]
    pub prometheus_url: Option<String>,

    /// An in-cluster Prometheus reached through the API server's service proxy, with the
    /// kubeconfig's credentials (no port-forward): `NAMESPACE/SERVICE:PORT`, or `auto` to look
    /// for the usual Services of kube-prometheus and the prometheus-community chart.
    #[arg(long, value_name = "NS/NAME:PORT|auto", conflicts_with_all = ["inputs", "demo"])]
    pub prometheus_service: Option<String>,

    /// Prometheus: a file holding the bearer token to send.
    #[arg(long, value_name = "PATH")]
    pub prometheus_token_file: Option<PathBuf>,

    /// Prometheus: basic-auth user; the password is read from $DETEK_PROMETHEUS_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub prometheus_user: Option<String>,

    /// Prometheus and --metrics-url: PEM CA certificates to trust besides the system's.
    #[arg(long, value_name = "PATH")]
    pub prometheus_ca_file: Option<PathBuf>,

    /// Prometheus and --metrics-url: PEM client certificate (mutual TLS); with
    /// --prometheus-client-key.
    #[arg(long, value_name = "PATH", requires = "prometheus_client_key")]
    pub prometheus_client_cert: Option<PathBuf>,

    /// Prometheus and --metrics-url: PEM private key of --prometheus-client-cert.
    #[arg(long, value_name = "PATH", requires = "prometheus_client_cert")]
    pub prometheus_client_key: Option<PathBuf>,

    /// A `/metrics` endpoint to scrape directly (repeatable), for clusters without a
    /// Prometheus: Prometheus text 0.0.4 or OpenMetrics. Detectors that need history are
    /// skipped in this mode.
    #[arg(long = "metrics-url", value_name = "URL")]
    pub metrics_urls: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SelectArgs {
    /// Detector set: `default`, `all`, or a set named in the config file.
    #[arg(value_name = "SET", default_value = "default")]
    pub set: String,

    /// Only these detectors: ids or labels, comma-separated (e.g. `failed_pod,security`).
    #[arg(long, value_delimiter = ',', value_name = "ID|LABEL")]
    pub select: Vec<String>,

    /// Leave out these detectors: ids or labels, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "ID|LABEL")]
    pub ignore: Vec<String>,

    /// Config file: thresholds, allowed registries, level overrides, named sets, ignore
    /// rules (default: ./detek.yaml or ./.detek.yaml when present; see docs/config.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Rego detectors (docs/policies.md).
#[derive(Debug, Clone, Default, Args)]
pub struct PolicyArgs {
    /// A directory of Rego detectors: every *.rego file with a `# METADATA` block becomes a
    /// detector beside the built-in ones (repeatable; also `policyDirs` in detek.yaml). See
    /// `detek policy --help` and docs/policies.md.
    #[arg(long = "policy-dir", value_name = "DIR")]
    pub policy_dirs: Vec<PathBuf>,

    /// Time one policy's evaluation may take before it is stopped and reported Unknown
    /// (default 5s; also `policyTimeout` in detek.yaml).
    #[arg(long, value_name = "DURATION")]
    pub policy_timeout: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Warn,
    Error,
    Fatal,
    /// Never fail on findings (exit 0 unless the scan itself failed).
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub target: TargetArgs,

    /// Report format.
    #[arg(short = 'f', long, default_value = "html", value_parser = output_format())]
    pub format: Format,

    /// Write the report to FILE instead of stdout. When stdout is a terminal and the format
    /// is html, the report goes to detek-report.html and the terminal gets a summary.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with code 1 when a finding is at or above this level (`never`: only a partial
    /// scan or an error fails; with --baseline: a new finding). Case does not matter (`Error`
    /// = `error`).
    #[arg(long, value_enum, ignore_case = true, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// A partial scan (an input or source that could not be read, a detector that could not
    /// be evaluated: any Unknown) exits 2 by default, whatever its findings. With this flag
    /// its exit code is what its findings give; the report still says `partial`. For dumps
    /// that knowingly hold templates, or fleets where some sources are expected down.
    #[arg(long)]
    pub allow_partial: bool,

    /// A previous `detek run -f json` report (one target or `{"clusters": [...]}`). Findings
    /// whose fingerprint is in it are "known", the others "new"; only new findings count for
    /// --fail-on. Every format marks them: JSON `"baseline": "new"|"known"`, NEW in the table
    /// and HTML, SARIF baselineState, a JUnit property. Fingerprints survive message changes
    /// and other checkouts of the same manifests (docs/ci.md).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Never draw progress on stderr (it is only drawn when stderr is a terminal anyway).
    #[arg(long)]
    pub quiet: bool,

    /// Table format: print every line whole, as when piped, instead of wrapping messages to
    /// the terminal's width. Names and paths are never cut either way.
    #[arg(long)]
    pub wide: bool,

    /// Colour in the table format: `auto` colours a terminal unless NO_COLOR is set (or
    /// TERM=dumb; CLICOLOR_FORCE forces it); `always` and `never` override.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// How many targets (kubeconfig contexts) to scan at the same time. Each target's report
    /// section is in the order the targets were given, whatever order they finish in.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub target: TargetArgs,

    /// Output format: table or json.
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format: table or json.
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    /// Only these detectors: ids or labels, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "ID|LABEL")]
    pub select: Vec<String>,

    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Only this machine can connect unless you name another
    /// address (0.0.0.0:8080 for every interface).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The hub's database: an SQLite file (sqlite://PATH or a path; created when missing) or
    /// PostgreSQL (postgres://USER@HOST/DB). Default: detek-hub.db in the current directory;
    /// with --demo, a database in memory.
    #[arg(
        long,
        value_name = "URL",
        env = "DETEK_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// The bearer token writes need (POST /api/scans, PUT and DELETE /api/targets/NAME).
    /// Without one the hub takes no writes.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "DETEK_HUB_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Reads need the token too (the API as a bearer token; a browser asks for it as the
    /// password).
    #[arg(long, requires = "token")]
    pub token_for_reads: bool,
    /// Largest report POST /api/scans takes, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_body_mib: usize,
    /// Seed the database with a few demo clusters and weeks of history, made from the demo
    /// snapshot (`detek run --demo`).
    #[arg(long)]
    pub demo: bool,
    /// The targets scanned every --scan-every, as `detek fleet scan` scans them once
    /// (docs/hub.md). Without targets the hub only serves what is stored or pushed.
    #[command(flatten)]
    pub sources: TargetSources,
    /// How often the targets are scanned: a pass starts every DURATION (the first at once).
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub scan_every: String,
    /// Targets scanned at the same time.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Time allowed to one target's scan (past it the scan is stored as failed).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Detector id, e.g. `oomkilled_container` (see `detek list`).
    pub id: String,

    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct PolicyCommandArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run the `test_*` rules of the policies' `*_test.rego` files (the `opa test`
    /// convention: `with input as {...}`), with the policies, their helper libraries and
    /// `data.json`/`data.yaml` loaded. Exit 0 when every test passes, 1 when one fails, 2 when
    /// the directory cannot be read.
    ///
    ///   detek policy test examples/policies
    ///   detek policy test policies/ --format json
    #[command(verbatim_doc_comment)]
    Test(PolicyTestArgs),
    /// Write NAME.rego (metadata, a working rule) and NAME_test.rego (two tests) to start a
    /// detector from.
    ///
    ///   detek policy new deployment_single_replica --dir policies/
    ///   detek policy test policies/ && detek run --demo --policy-dir policies/ -f table
    #[command(verbatim_doc_comment)]
    New(PolicyNewArgs),
    /// Check policies without a cluster: metadata, syntax, unknown or refused builtins
    /// (http.send, opa.runtime), a dry run, rules nothing uses, policies without tests. Exit 1
    /// when a policy would not load.
    Check(PolicyCheckArgs),
}

#[derive(Debug, Args)]
pub struct PolicyTestArgs {
    /// Policy directories (read recursively).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Output: text (one line per test) or json.
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Time one test may take (default 5s).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

#[derive(Debug, Args)]
pub struct PolicyNewArgs {
    /// The detector's id, snake_case (e.g. `deployment_single_replica`): the files are
    /// NAME.rego and NAME_test.rego, the package detek.NAME.
    pub name: String,
    /// Where to write the files.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PolicyCheckArgs {
    /// Policy directories (read recursively).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Output: table or json.
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub command: FleetCommand,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Scan every target once (or this shard's share of them) and store the results.
    ///
    /// Targets come from --targets (hub.yaml: targets with descriptions, owners and labels,
    /// and where to discover more), --kubeconfig-dir (one target per kubeconfig file),
    /// --kubeconfig (one target per context) and --clouds-yaml (one per cloud). The database
    /// holds names, labels and results; credentials stay in the kubeconfig files.
    ///
    /// In a Kubernetes Indexed Job (deploy/job.yaml) every Pod scans the targets of its
    /// JOB_COMPLETION_INDEX out of JOB_COMPLETIONS, all writing to one PostgreSQL.
    ///
    /// Prints one line per target (name, status and why it failed, time, scan id). Exit
    /// codes: 0 every scan stored (targets that could not be scanned are stored with the
    /// reason); 2 a scan could not be stored, or usage/config errors.
    #[command(verbatim_doc_comment)]
    Scan(FleetScanArgs),
}

/// Where the fleet's targets come from (`detek fleet scan`, `detek serve`), merged.
#[derive(Debug, Clone, Default, Args)]
pub struct TargetSources {
    /// The hub's config file: targets and their labels, kubeconfig directories, clouds.yaml
    /// files (docs/hub.md).
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,

    /// A directory of kubeconfig files: one target per file, named after it (a file with
    /// several contexts: FILE/CONTEXT). Repeatable.
    #[arg(long = "kubeconfig-dir", value_name = "DIR")]
    pub kubeconfig_dirs: Vec<PathBuf>,

    /// A kubeconfig file: one target per context, named after the context. Repeatable.
    #[arg(long = "kubeconfig", value_name = "FILE")]
    pub kubeconfigs: Vec<PathBuf>,

    /// A clouds.yaml: one OpenStack target per cloud. Repeatable.
    #[arg(long = "clouds-yaml", value_name = "FILE")]
    pub clouds_yaml: Vec<PathBuf>,
}

impl TargetSources {
    /// No source given.
    pub fn is_empty(&self) -> bool {
        self.targets.is_none()
            && self.kubeconfig_dirs.is_empty()
            && self.kubeconfigs.is_empty()
            && self.clouds_yaml.is_empty()
    }
}

#[derive(Debug, Args)]
pub struct FleetScanArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub sources: TargetSources,

    /// Where scans are stored: sqlite://PATH (created when missing) or
    /// postgres://USER:PASSWORD@HOST/DB.
    #[arg(
        long,
        value_name = "URL",
        env = "DETEK_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://detek-hub.db"
    )]
    pub database_url: String,

    /// Scan only shard I of N (0-based), the targets whose name hashes there; default:
    /// JOB_COMPLETION_INDEX of JOB_COMPLETIONS when set, else every target.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<detek_hub::scheduler::Shard>,

    /// Targets scanned at the same time.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,

    /// Time allowed to one target's scan (past it the scan is stored as failed).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,

    /// Time allowed to each request to an API server, Keystone or OpenStack service.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,

    /// How long a scan's write is retried while the database is unreachable.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub write_patience: String,

    /// Kubernetes version to check API deprecations against (default: each cluster's).
    #[arg(long, value_name = "VERSION")]
    pub target_version: Option<String>,

    /// Print nothing (the exit code still says whether every scan was stored).
    #[arg(long)]
    pub quiet: bool,
}
