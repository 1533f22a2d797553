//! Broker processes: `broker-start` on ephemeral ports with temporary
//! data dirs, alone or as a cluster whose nodes are also the metadata
//! quorum, and what a test reads of them (banner, log, data dir).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::watchdog::{self, Watchdog};

pub struct BrokerProcess {
    child: Option<Child>,
    /// The first listener's port.
    pub port: u16,
    /// Each listener's name and port, when the broker has several.
    pub listeners: Vec<(String, u16)>,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    overrides: Vec<String>,
    /// RLIMIT_NOFILE (soft and hard) the broker runs under, when not inherited.
    open_files: Option<u64>,
    _watchdog: Watchdog,
}

fn spawn(dir: &Path, overrides: &[String], open_files: Option<u64>) -> (Child, Banner) {
    let mut child = launch_limited(dir, overrides, open_files);
    let banner = banner(&mut child);
    (child, banner)
}

/// Starts the process without waiting for it to serve.
fn launch(dir: &Path, overrides: &[String]) -> Child {
    launch_limited(dir, overrides, None)
}

// pre_exec is unsafe: what runs between fork and exec must be.
#[allow(unsafe_code)]
fn launch_limited(dir: &Path, overrides: &[String], open_files: Option<u64>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_broker-start"));
    if let Some(limit) = open_files {
        use std::os::unix::process::CommandExt;
        let limit = rustix::process::Rlimit {
            current: Some(limit),
            maximum: Some(limit),
        };
        // SAFETY: setrlimit is a single system call, safe between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                    .map_err(std::io::Error::from)
            });
        }
    }
    cmd.arg("--override")
        .arg("listeners=PLAINTEXT://127.0.0.1:0")
        .arg("--override")
        .arg(format!("log.dirs={}", dir.display()));
    for o in overrides {
        cmd.arg("--override").arg(o);
    }
    cmd.env(
        "RUST_LOG",
        // openraft reports every unreachable peer while a quorum forms.
        std::env::var("GREGOR_TEST_LOG").unwrap_or_else(|_| "warn,openraft=off".into()),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .inspect(|child| watchdog::started(child.id()))
    .expect("spawn broker-start")
}

/// What the broker's "listening on" line says: the first listener's port,
/// and each listener's port by name.
#[derive(Default)]
struct Banner {
    port: u16,
    listeners: Vec<(String, u16)>,
}

/// Waits for the broker's "listening on" line.
fn banner(child: &mut Child) -> Banner {
    try_banner(child)
        .unwrap_or_else(|line| panic!("broker did not print its address; got {line:?}"))
}

/// `gregor broker 1 listening on 127.0.0.1:9092`, with several listeners
/// followed by ` (PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093)`.
fn try_banner(child: &mut Child) -> Result<Banner, String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read broker banner");
    let port_of = |addr: &str| addr.rsplit(':').next().and_then(|p| p.parse().ok());
    let mut words = line.split_whitespace().skip_while(|w| *w != "on").skip(1);
    let port = words.next().and_then(port_of).ok_or(line.clone())?;
    let listeners = match words.next() {
        Some(list) => list
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|l| {
                let (name, addr) = l.split_once("://")?;
                Some((name.to_string(), port_of(addr)?))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(line.clone())?,
        None => Vec::new(),
    };
    Ok(Banner { port, listeners })
}

/// A port free now, for listeners whose port must be known in advance;
/// taken below Linux's ephemeral range (32768 and up), where listeners on
/// port 0 and outgoing connections cannot take it in the meantime.
pub fn free_port() -> u16 {
    loop {
        let port = fastrand::u16(20_000..32_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Starts stopped cluster nodes again on their data dirs, all launched
/// before any is waited for (none serves until a quorum of them runs).
pub fn restart_cluster(brokers: &mut [BrokerProcess]) {
    let mut launched = Vec::new();
    for b in brokers.iter_mut() {
        assert!(b.child.is_none(), "stop or kill the broker first");
        launched.push(launch(&b.dir, &b.overrides));
    }
    for (b, mut child) in brokers.iter_mut().zip(launched) {
        let banner = banner(&mut child);
        b.port = banner.port;
        b.listeners = banner.listeners;
        b.child = Some(child);
    }
}

/// `n` brokers that are also the metadata quorum's voters (node ids 1..=n),
/// each with its own data dir; all are launched before any is waited for,
/// since none serves until the quorum has a leader.
pub fn start_cluster(n: usize, overrides: &[&str]) -> Vec<BrokerProcess> {
    start_cluster_per_node(n, overrides, &[])
}

/// As [`start_cluster`], with `per_node[i]` added to node i+1's overrides
/// (a rack, say).
pub fn start_cluster_per_node(
    n: usize,
    overrides: &[&str],
    per_node: &[&[&str]],
) -> Vec<BrokerProcess> {
    start_cluster_listening(n, "PLAINTEXT://127.0.0.1:0", overrides, per_node)
}

/// As [`start_cluster_per_node`], with `client_listeners` (such as
/// `SSL://127.0.0.1:0`) in front of each node's CONTROLLER listener.
pub fn start_cluster_listening(
    n: usize,
    client_listeners: &str,
    overrides: &[&str],
    per_node: &[&[&str]],
) -> Vec<BrokerProcess> {
    // Another test may still take a chosen port first: start again on new ones.
    for _ in 0..3 {
        if let Some(cluster) = try_start_cluster(n, client_listeners, overrides, per_node) {
            return cluster;
        }
    }
    panic!("a cluster of {n} brokers did not start");
}

fn try_start_cluster(
    n: usize,
    client_listeners: &str,
    overrides: &[&str],
    per_node: &[&[&str]],
) -> Option<Vec<BrokerProcess>> {
    let controller_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let voters = controller_ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    let mut launched = Vec::new();
    for (i, controller_port) in controller_ports.iter().enumerate() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut node_overrides = vec![
            format!("node.id={}", i + 1),
            format!("controller.quorum.voters={voters}"),
            "controller.listener.names=CONTROLLER".to_string(),
            format!("listeners={client_listeners},CONTROLLER://127.0.0.1:{controller_port}"),
        ];
        node_overrides.extend(overrides.iter().map(|s| s.to_string()));
        if let Some(own) = per_node.get(i) {
            node_overrides.extend(own.iter().map(|s| s.to_string()));
        }
        let child = launch(&dir, &node_overrides);
        launched.push((child, dir, tmp, node_overrides));
    }
    let mut brokers = Vec::new();
    let mut failed = false;
    for (mut child, dir, tmp, overrides) in launched {
        // Without one node the others may never form a quorum: stop them
        // rather than wait for their banners.
        let banner = if failed {
            let _ = child.kill();
            Banner::default()
        } else {
            try_banner(&mut child).unwrap_or_else(|_| {
                failed = true;
                Banner::default()
            })
        };
        brokers.push(BrokerProcess {
            child: Some(child),
            port: banner.port,
            listeners: banner.listeners,
            dir,
            _tmp: Some(tmp),
            overrides,
            open_files: None,
            _watchdog: watchdog::arm(),
        });
    }
    // Dropping the brokers kills those that did start.
    (!failed).then_some(brokers)
}

/// A broker-only node (`process.roles=broker`) joining the running
/// `cluster` as `node_id`, with the cluster's other overrides.
pub fn add_broker(cluster: &[BrokerProcess], node_id: i32) -> BrokerProcess {
    let mut overrides: Vec<String> = cluster[0]
        .overrides
        .iter()
        .filter(|o| !o.starts_with("node.id=") && !o.starts_with("listeners="))
        .cloned()
        .collect();
    overrides.extend([
        format!("node.id={node_id}"),
        "process.roles=broker".to_string(),
        format!(
            "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:{}",
            free_port()
        ),
    ]);
    BrokerProcess::start_in(tempfile::tempdir().expect("tempdir"), overrides)
}

impl BrokerProcess {
    /// Starts a broker with `overrides` (KEY=VALUE) in a fresh temporary data dir.
    pub fn start(overrides: &[&str]) -> BrokerProcess {
        let tmp = tempfile::tempdir().expect("tempdir");
        BrokerProcess::start_in(tmp, overrides.iter().map(|s| s.to_string()).collect())
    }

    fn start_in(tmp: tempfile::TempDir, overrides: Vec<String>) -> BrokerProcess {
        let dir = tmp.path().to_path_buf();
        let (child, banner) = spawn(&dir, &overrides, None);
        BrokerProcess {
            child: Some(child),
            port: banner.port,
            listeners: banner.listeners,
            dir,
            _tmp: Some(tmp),
            overrides,
            open_files: None,
            _watchdog: watchdog::arm(),
        }
    }

    /// Starts a broker on `dir`, which the caller owns (a mount point, say),
    /// under an open file limit of `open_files` (soft and hard) if given.
    pub fn start_with(dir: &Path, open_files: Option<u64>, overrides: &[&str]) -> BrokerProcess {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        let (child, banner) = spawn(dir, &overrides, open_files);
        BrokerProcess {
            child: Some(child),
            port: banner.port,
            listeners: banner.listeners,
            dir: dir.to_path_buf(),
            _tmp: None,
            overrides,
            open_files,
            _watchdog: watchdog::arm(),
        }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port of the listener named `name`.
    pub fn listener_port(&self, name: &str) -> u16 {
        if self.listeners.is_empty() {
            return self.port;
        }
        self.listeners
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, port)| *port)
            .unwrap_or_else(|| panic!("no listener {name} in {:?}", self.listeners))
    }

    /// The port of the CONTROLLER listener a cluster node was started with.
    pub fn controller_port(&self) -> u16 {
        self.overrides
            .iter()
            .filter_map(|o| o.strip_prefix("listeners="))
            .flat_map(|l| l.split(','))
            .find_map(|l| l.strip_prefix("CONTROLLER://"))
            .and_then(|addr| addr.rsplit_once(':')?.1.parse().ok())
            .expect("a node started with a CONTROLLER listener")
    }

    /// SIGTERM and wait: a clean shutdown.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let status = child.wait().expect("wait broker");
            watchdog::reaped(child.id());
            assert!(status.success(), "broker exited with {status} on SIGTERM");
        }
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`): a broker that stops answering
    /// without closing its connections.
    pub fn pause(&mut self, stopped: bool) {
        if let Some(child) = &self.child {
            let signal = if stopped { "-STOP" } else { "-CONT" };
            let status = Command::new("kill")
                .arg(signal)
                .arg(child.id().to_string())
                .status()
                .expect("run kill");
            assert!(status.success(), "kill {signal} failed");
        }
    }

    /// SIGKILL: no chance to flush or mark a clean shutdown.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            watchdog::reaped(child.id());
        }
    }

    /// The `--override`s it was started with after its listeners and
    /// log.dirs (a cluster node's id, voters and CONTROLLER listener).
    pub fn overrides(&self) -> &[String] {
        &self.overrides
    }

    /// Starts again on the same data dir (on a new ephemeral port).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill the broker first");
        let (child, banner) = spawn(&self.dir, &self.overrides, self.open_files);
        self.child = Some(child);
        self.port = banner.port;
        self.listeners = banner.listeners;
    }

    /// Starts again on the same data dir and the same port, so that
    /// connected clients find the broker again.
    pub fn restart_on_same_port(&mut self) {
        assert!(self.child.is_none(), "stop or kill the broker first");
        let mut overrides = self.overrides.clone();
        let pinned = format!("PLAINTEXT://127.0.0.1:{}", self.port);
        match overrides.iter_mut().find(|o| o.starts_with("listeners=")) {
            // A cluster node keeps its CONTROLLER listener.
            Some(o) => *o = o.replace("PLAINTEXT://127.0.0.1:0", &pinned),
            None => overrides.push(format!("listeners={pinned}")),
        }
        let (child, banner) = spawn(&self.dir, &overrides, self.open_files);
        self.child = Some(child);
        self.port = banner.port;
        self.listeners = banner.listeners;
    }

    /// The process id while the broker runs, to read its /proc entries.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A memory field of the broker's /proc/PID/status (VmRSS, VmHWM,
    /// VmPeak...), in bytes.
    pub fn memory(&self, field: &str) -> u64 {
        let pid = self.pid().expect("the broker is running");
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
            * 1024
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => c.try_wait().map(|s| s.is_none()).unwrap_or(false),
            None => false,
        }
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A broker started with its log kept (stderr, at `RUST_LOG=rust_log`),
/// for tests that look for what it logged; its banner may never come (a
/// node that cannot join).
pub struct LoggedBroker {
    child: std::process::Child,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
    banner: std::sync::mpsc::Receiver<String>,
    _watchdog: Watchdog,
}

impl LoggedBroker {
    pub fn launch(dir: &std::path::Path, overrides: &[String]) -> LoggedBroker {
        LoggedBroker::launch_logging(dir, overrides, "warn,openraft=off")
    }

    pub fn launch_logging(
        dir: &std::path::Path,
        overrides: &[String],
        rust_log: &str,
    ) -> LoggedBroker {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_broker-start"));
        cmd.arg("--override")
            .arg(format!("log.dirs={}", dir.display()));
        for o in overrides {
            cmd.arg("--override").arg(o);
        }
        let mut child = cmd
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn broker-start");
        watchdog::started(child.id());
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (tx, banner) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut line = String::new();
            if std::io::BufReader::new(stdout).read_line(&mut line).is_ok() {
                let _ = tx.send(line);
            }
        });
        LoggedBroker {
            child,
            log,
            banner,
            _watchdog: watchdog::arm(),
        }
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.log.lock().unwrap().contains(needle)
    }

    /// Whether the process has ended.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Each listener's port by name, once the node serves (its banner
    /// names them when it has several).
    pub fn listeners(&self, timeout: std::time::Duration) -> Option<Vec<(String, u16)>> {
        let line = self.banner.recv_timeout(timeout).ok()?;
        let list = line.split_whitespace().skip_while(|w| *w != "on").nth(2)?;
        list.trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|l| {
                let (name, addr) = l.split_once("://")?;
                Some((name.to_string(), addr.rsplit(':').next()?.parse().ok()?))
            })
            .collect()
    }

    /// The port of the banner's first listener, once the node serves.
    pub fn port(&self, timeout: std::time::Duration) -> Option<u16> {
        let line = self.banner.recv_timeout(timeout).ok()?;
        line.split_whitespace()
            .skip_while(|w| *w != "on")
            .nth(1)?
            .rsplit(':')
            .next()?
            .parse()
            .ok()
    }
}

impl Drop for LoggedBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        watchdog::reaped(self.child.id());
    }
}

/// Starts broker-start with `overrides` in a fresh data dir and returns
/// its stderr, which must be one line, after it refused to start.
pub fn refused_start(overrides: &[String]) -> String {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_broker-start"));
    cmd.arg("--override")
        .arg(format!("log.dirs={}", data.path().display()));
    for o in overrides {
        cmd.arg("--override").arg(o);
    }
    let out = cmd
        .stdin(Stdio::null())
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success(), "{overrides:?} started");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

/// As [`refused_start`], and the line contains `expected`.
pub fn assert_start_refused(overrides: &[String], expected: &str) {
    let stderr = refused_start(overrides);
    assert!(
        stderr.contains(expected),
        "{overrides:?}: expected {expected:?} in {stderr}"
    );
}

/// The segment files (`.log`) of a partition directory, by base offset.
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("partition directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}
