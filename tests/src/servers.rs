//! Servers of a test's own, started from Debian's packages on free loopback ports and stopped
//! (their files removed) when dropped: PgBouncer in front of the test PostgreSQL, a PostgreSQL
//! primary with a streaming standby made by `pg_basebackup -R`, and a three-node MariaDB
//! Galera cluster.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `ready` says yes, or panics naming `what` after `secs` seconds.
pub fn wait_until(what: &str, secs: u64, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} is not ready after {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A directory the `postgres` account may write (PostgreSQL and PgBouncer refuse to run as
/// root), removed when dropped.
fn postgres_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
    assert!(status.success(), "cannot give {} to the postgres account", dir.path().display());
    dir
}

/// Runs a command as the `postgres` account.
fn as_postgres(program: &str) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--", program]);
    c
}

/// The directory of PostgreSQL's server programs (`initdb`, `pg_ctl`, `postgres`).
fn pg_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server package (postgresql) must be installed")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("no PostgreSQL server programs under /usr/lib/postgresql")
}

/// Whether a PostgreSQL server answers on `port`.
fn pg_ready(port: u16) -> bool {
    Command::new("pg_isready")
        .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// PgBouncer in front of the test PostgreSQL (127.0.0.1:5432), every database reachable
/// through it, trusting every user.
pub struct PgBouncer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    /// Starts PgBouncer with `pool_mode` (`session` or `transaction`) and `pool_size` server
    /// connections per database and user. Its configuration is the package's defaults
    /// otherwise: `extra_float_digits` is not in `ignore_startup_parameters`.
    pub fn start(pool_mode: &str, pool_size: u32) -> Self {
        let dir = postgres_dir("migrate-pgbouncer-");
        let port = free_port();
        let d = dir.path();
        std::fs::write(d.join("users.txt"), "\"postgres\" \"\"\n\"root\" \"\"\n").unwrap();
        std::fs::write(
            d.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
                 unix_socket_dir =\nauth_type = trust\nauth_file = {users}\npool_mode = {pool_mode}\n\
                 default_pool_size = {pool_size}\nmax_client_conn = 200\nlogfile = {log}\npidfile = {pid}\n",
                users = d.join("users.txt").display(),
                log = d.join("pgbouncer.log").display(),
                pid = d.join("pgbouncer.pid").display(),
            ),
        )
        .unwrap();
        let _ = Command::new("chown").args(["-R", "postgres:postgres"]).arg(d).status();
        let child = as_postgres("pgbouncer")
            .arg(d.join("pgbouncer.ini"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pgbouncer (Debian package pgbouncer) must be installed");
        wait_until("PgBouncer", 20, || pg_ready(port));
        Self { port, child, _dir: dir }
    }

    /// A URL of the database `database` through this PgBouncer.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// What PgBouncer logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // runuser forwards the signal to PgBouncer.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL cluster of the test's own on a free port: a primary, and a hot standby made
/// from it with `pg_basebackup -R`, streaming from it.
pub struct PgPair {
    /// The primary's port.
    pub primary: u16,
    /// The standby's port.
    pub standby: u16,
    dir: tempfile::TempDir,
}

impl PgPair {
    /// Creates and starts both, and waits until the standby is streaming.
    pub fn start() -> Self {
        let dir = postgres_dir("migrate-pg-pair-");
        let bin = pg_bin();
        let (primary, standby) = (free_port(), free_port());
        let (p, s) = (dir.path().join("primary"), dir.path().join("standby"));
        let run = |mut c: Command, what: &str| {
            let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let mut initdb = as_postgres(bin.join("initdb").to_str().unwrap());
        initdb.args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"]).arg(&p);
        run(initdb, "initdb");
        std::fs::write(
            p.join("postgresql.auto.conf"),
            "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nfsync = off\nshared_buffers = 16MB\n\
             max_wal_senders = 4\nwal_level = replica\nhot_standby = on\n",
        )
        .unwrap();
        let _ = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&p).status();
        Self::pg_ctl(&bin, &p, primary, "start");
        wait_until("the primary PostgreSQL", 30, || pg_ready(primary));
        let mut backup = as_postgres(bin.join("pg_basebackup").to_str().unwrap());
        backup
            .args(["-h", "127.0.0.1", "-p", &primary.to_string(), "-U", "postgres", "-R", "-X", "stream", "-D"])
            .arg(&s);
        run(backup, "pg_basebackup");
        Self::pg_ctl(&bin, &s, standby, "start");
        wait_until("the standby PostgreSQL", 30, || pg_ready(standby));
        let pair = Self { primary, standby, dir };
        wait_until("streaming replication", 30, || {
            Command::new("psql")
                .args(["-h", "127.0.0.1", "-p", &primary.to_string(), "-U", "postgres", "-tAc"])
                .arg("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "1")
        });
        pair
    }

    fn pg_ctl(bin: &Path, data: &Path, port: u16, action: &str) {
        let mut c = as_postgres(bin.join("pg_ctl").to_str().unwrap());
        c.arg("-D").arg(data).args(["-w", "-m", "immediate"]);
        if action == "start" {
            c.args(["-o", &format!("-p {port}"), "-l"]).arg(data.with_extension("log"));
        }
        c.arg(action).stdout(Stdio::null()).stderr(Stdio::null());
        let _ = c.status();
    }

    /// A URL of `database` on the primary.
    pub fn primary_url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.primary)
    }

    /// A URL of `database` on the standby.
    pub fn standby_url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.standby)
    }
}

impl Drop for PgPair {
    fn drop(&mut self) {
        let bin = pg_bin();
        for (dir, port) in [("standby", self.standby), ("primary", self.primary)] {
            Self::pg_ctl(&bin, &self.dir.path().join(dir), port, "stop");
        }
    }
}

/// A three-node MariaDB Galera cluster of the test's own on loopback: each node with its own
/// data directory and ports (client, replication, IST, SST), node 1 bootstrapping the cluster
/// and the others joining by SST one at a time. Stopped and removed when dropped.
pub struct Galera {
    /// The nodes' client ports.
    pub ports: [u16; 3],
    galera: [u16; 3],
    ist: [u16; 3],
    sst: [u16; 3],
    children: [Option<Child>; 3],
    dir: tempfile::TempDir,
}

/// The account the nodes run as: rsync SST refuses to run as root.
const GALERA_USER: &str = "mysql";

impl Galera {
    /// Starts the cluster and waits until every node is Synced in a cluster of three.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("migrate-galera-").tempdir().unwrap();
        let d = dir.path();
        for sub in ["tmp", "n2", "n3"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        let chown = || {
            let status = Command::new("chown").args(["-R", &format!("{GALERA_USER}:")]).arg(d).status().unwrap();
            assert!(status.success(), "cannot give {} to the {GALERA_USER} account", d.display());
        };
        chown();
        let install = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--user={GALERA_USER}"))
            .arg(format!("--datadir={}", d.join("n1").display()))
            // Its own tmpdir: a starting server removes the `#sql*` files it finds there.
            .arg(format!("--tmpdir={}", d.join("tmp").display()))
            .output()
            .expect("mariadb-install-db (package mariadb-server) must be installed");
        assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
        chown();
        // Twelve ports, all held until all are chosen so that none repeats.
        let listeners: Vec<_> = (0..12).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        let p: Vec<u16> = listeners.iter().map(|l| l.local_addr().unwrap().port()).collect();
        drop(listeners);
        let mut cluster = Self {
            ports: [p[0], p[1], p[2]],
            galera: [p[3], p[4], p[5]],
            ist: [p[6], p[7], p[8]],
            sst: [p[9], p[10], p[11]],
            children: [None, None, None],
            dir,
        };
        for node in 0..3 {
            cluster.start_node(node);
            cluster.wait_synced(node, node + 1, 90);
        }
        for node in 0..3 {
            cluster.wait_synced(node, 3, 60);
        }
        cluster
    }

    fn start_node(&mut self, node: usize) {
        let d = self.dir.path();
        let n = node + 1;
        let address =
            format!("gcomm://127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}", self.galera[0], self.galera[1], self.galera[2]);
        // Fast failure detection on loopback: a killed node leaves the cluster within seconds.
        let provider = format!(
            "gmcast.listen_addr=tcp://127.0.0.1:{};ist.recv_addr=127.0.0.1:{};gcache.size=32M;\
             evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S;evs.install_timeout=PT4S;evs.keepalive_period=PT0.5S;evs.inactive_check_period=PT0.5S",
            self.galera[node], self.ist[node]
        );
        let mut c = Command::new("mariadbd");
        c.arg("--no-defaults")
            .arg(format!("--user={GALERA_USER}"))
            .arg(format!("--datadir={}", d.join(format!("n{n}")).display()))
            .arg(format!("--socket={}", d.join(format!("n{n}.sock")).display()))
            .arg(format!("--pid-file={}", d.join(format!("n{n}.pid")).display()))
            .arg(format!("--log-error={}", d.join(format!("n{n}.err")).display()))
            .arg(format!("--tmpdir={}", d.join("tmp").display()))
            .arg(format!("--port={}", self.ports[node]))
            .args(["--bind-address=127.0.0.1", "--skip-name-resolve", "--binlog-format=ROW"])
            .args(["--default-storage-engine=InnoDB", "--innodb-autoinc-lock-mode=2"])
            .args(["--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=0"])
            .args(["--wsrep-on=ON", "--wsrep-provider=/usr/lib/galera/libgalera_smm.so"])
            .arg("--wsrep-cluster-name=migrate_test")
            .arg(format!("--wsrep-cluster-address={address}"))
            .arg(format!("--wsrep-node-name=n{n}"))
            .arg(format!("--wsrep-node-address=127.0.0.1:{}", self.galera[node]))
            .arg(format!("--wsrep-node-incoming-address=127.0.0.1:{}", self.ports[node]))
            .arg("--wsrep-sst-method=rsync")
            .arg(format!("--wsrep-sst-receive-address=127.0.0.1:{}", self.sst[node]))
            .arg(format!("--wsrep-provider-options={provider}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if node == 0 {
            c.arg("--wsrep-new-cluster");
        }
        self.children[node] =
            Some(c.spawn().expect("mariadbd (package mariadb-server) and galera-4 must be installed"));
    }

    /// Runs SQL on a node with the `mariadb` client; its output, or the error.
    pub fn sql(&self, node: usize, sql: &str) -> Result<String, String> {
        let out = Command::new("mariadb")
            .args(["--no-defaults", "--protocol=TCP", "-h127.0.0.1", "-uroot", "-N", "-B"])
            .arg(format!("-P{}", self.ports[node]))
            .args(["-e", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// Waits until `node` is Synced in a cluster of `size` nodes.
    pub fn wait_synced(&self, node: usize, size: usize, secs: u64) {
        let want = format!("{size}\tSynced");
        let state = "SELECT (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'wsrep_cluster_size'), \
                     (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'wsrep_local_state_comment')";
        wait_until(&format!("Galera node {} (Synced in a cluster of {size})", node + 1), secs, || {
            self.sql(node, state).is_ok_and(|s| s == want)
        });
    }

    /// A URL of `database` on `node`.
    pub fn url(&self, node: usize, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.ports[node])
    }

    /// Kills `node` with SIGKILL, as a crashed server.
    pub fn kill(&mut self, node: usize) {
        if let Some(mut child) = self.children[node].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What `node` logged.
    pub fn log(&self, node: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("n{}.err", node + 1))).unwrap_or_default()
    }
}

impl Drop for Galera {
    fn drop(&mut self) {
        let running: Vec<Child> = self.children.iter_mut().filter_map(Option::take).collect();
        for child in &running {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for mut child in running {
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A TCP proxy in front of a server that cuts a client's connection right after passing on
/// the first chunk holding `marker`: the server gets the whole message and runs it, the client
/// never hears back (as when a network drops between a `COMMIT` and its answer).
pub struct CutProxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl CutProxy {
    /// Starts the proxy in front of `upstream` (`host:port`); it lives as long as the process.
    pub fn start(upstream: &str, marker: &'static [u8]) -> Self {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = upstream.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { break };
                let Ok(mut server) = TcpStream::connect(&upstream) else { continue };
                let (mut back_from, mut back_to) = (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut back_from, &mut back_to);
                });
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        let n = match client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if buf[..n].windows(marker.len()).any(|w| w == marker) {
                            // The client loses the connection first; then the server reads the
                            // message to its end, runs it, and sees the connection close.
                            let _ = client.shutdown(Shutdown::Both);
                            let _ = server.write_all(&buf[..n]);
                            let _ = server.shutdown(Shutdown::Write);
                            let _ = std::io::copy(&mut server, &mut std::io::sink());
                            return;
                        }
                        if server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = server.shutdown(Shutdown::Both);
                });
            }
        });
        Self { port }
    }
}
