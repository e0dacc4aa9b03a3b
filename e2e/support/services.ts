// The services one run of the suite needs, started here and stopped by pid: its own
// redis-server, its own PostgreSQL cluster (initdb in the run's folder) and two Confab
// instances sharing them, each on a free loopback port. Instances can be stopped and
// started again on the same port (the resilience scenario restarts one mid-test).
//
// Everything is stopped gently: SIGTERM for Redis and Confab, SIGINT ("fast shutdown") for
// PostgreSQL. A process that ignores that for `STOP_TIMEOUT_MS` is a bug worth failing on.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/// The repository root (e2e/support/ is two levels down).
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/// The server and the client under test: this checkout's release build unless overridden.
const CONFAB_BIN = process.env.CONFAB_E2E_BIN ?? path.join(REPO_ROOT, 'target', 'release', 'confab');
const DIST_DIR = process.env.CONFAB_E2E_DIST ?? path.join(REPO_ROOT, 'dist');

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const POLL_MS = 50;

const isRoot = process.getuid?.() === 0;

/// Every process started here and still running, for the last-resort cleanup on exit.
const running = new Set<Service>();
process.once('exit', () => {
  for (const service of running) service.signalNow();
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/// A free TCP port on 127.0.0.1: bind port 0, read what the kernel chose, release it.
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port from listen(0)'));
      });
    });
  });
}

/// Polls `check` until it returns true; fails with `what` (and the log's tail) on timeout or
/// when the process has exited already.
async function waitUntil(
  what: string,
  service: Service,
  check: () => Promise<boolean>,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service.exited) {
      throw new Error(`${what}: the process exited (${service.exitDescription()})\n${service.logTail()}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${timeoutMs} ms\n${service.logTail()}`);
    }
    await sleep(POLL_MS);
  }
}

/// One long-running child process with its log file.
export class Service {
  private child: ChildProcess | undefined;
  private exitPromise: Promise<void> = Promise.resolve();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    readonly logFile: string,
    private readonly options: { stopSignal?: NodeJS.Signals; cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {}

  /// The pid of the running process (undefined when stopped).
  get pid(): number | undefined {
    return this.exited ? undefined : this.child?.pid;
  }

  get exited(): boolean {
    return this.child === undefined || this.exitInfo !== undefined;
  }

  /// The command line, for logs.
  get commandLine(): string {
    return [this.command, ...this.args].join(' ');
  }

  start(): void {
    if (!this.exited) throw new Error(`${this.name} is running already`);
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n=== ${new Date().toISOString()} start: ${this.commandLine}\n`);
    const child = spawn(this.command, this.args, {
      cwd: this.options.cwd,
      env: this.options.env ?? process.env,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.child = child;
    this.exitInfo = undefined;
    running.add(this);
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        running.delete(this);
        resolve();
      });
      child.once('error', (err) => {
        fs.appendFileSync(this.logFile, `spawn error: ${err.message}\n`);
        this.exitInfo = { code: null, signal: null };
        running.delete(this);
        resolve();
      });
    });
  }

  /// Sends the stop signal and waits for the process to exit.
  async stop(): Promise<void> {
    if (this.exited) return;
    const signal = this.options.stopSignal ?? 'SIGTERM';
    this.child?.kill(signal);
    const timedOut = await Promise.race([
      this.exitPromise.then(() => false),
      sleep(STOP_TIMEOUT_MS).then(() => true),
    ]);
    if (timedOut) {
      throw new Error(`${this.name} (pid ${this.pid}) did not stop within ${STOP_TIMEOUT_MS} ms of ${signal}`);
    }
  }

  /// Synchronous best effort for process exit: the stop signal, no waiting.
  signalNow(): void {
    if (!this.exited) this.child?.kill(this.options.stopSignal ?? 'SIGTERM');
  }

  exitDescription(): string {
    if (!this.exitInfo) return 'running';
    return this.exitInfo.signal ? `signal ${this.exitInfo.signal}` : `code ${this.exitInfo.code}`;
  }

  logTail(lines = 40): string {
    try {
      const text = fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n');
      return `--- last lines of ${this.logFile}:\n${text.slice(-lines).join('\n')}`;
    } catch {
      return `(no log at ${this.logFile})`;
    }
  }
}

/// Runs `args` as the `postgres` user when we are root (PostgreSQL refuses root).
/// `setpriv` execs in place, so the pid we hold is the server's own.
function asPostgres(command: string, args: string[]): [string, string[]] {
  return isRoot
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', command, ...args]]
    : [command, args];
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`no PostgreSQL under ${root} (make test-deps installs it)`);
  return path.join(root, versions[0], 'bin');
}

/// Sends PING over a fresh connection; true on +PONG.
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}

/// Our own redis-server on a free port, nothing persisted.
export async function startRedis(dir: string): Promise<{ service: Service; url: string }> {
  const port = await freePort();
  fs.mkdirSync(dir, { recursive: true });
  const service = new Service(
    'redis',
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    path.join(dir, 'redis.log'),
  );
  service.start();
  await waitUntil('redis-server', service, () => redisPing(port));
  return { service, url: `redis://127.0.0.1:${port}` };
}

/// Our own PostgreSQL: initdb into `dir`, the server on a free port with fsync off, and an
/// empty `confab` database.
/// When root, the cluster's folder belongs to `postgres`, who must be able to reach it: if
/// some parent of `wanted` is closed to others (a checkout under /root, say), the cluster
/// goes to a folder of its own under /tmp instead.
export function postgresDir(wanted: string): string {
  if (!isRoot) return wanted;
  for (let dir = path.dirname(wanted); ; dir = path.dirname(dir)) {
    if (fs.existsSync(dir) && (fs.statSync(dir).mode & 0o001) === 0) {
      return fs.mkdtempSync('/tmp/confab-e2e-pg-');
    }
    if (dir === path.dirname(dir)) return wanted;
  }
}

export async function startPostgres(dir: string, logFile: string): Promise<{ service: Service; url: string }> {
  const bin = postgresBinDir();
  const port = await freePort();
  const data = path.join(dir, 'data');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  if (isRoot) spawnSync('chown', ['-R', 'postgres:postgres', dir], { stdio: 'inherit' });

  const [initdb, initArgs] = asPostgres(path.join(bin, 'initdb'), [
    '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync',
  ]);
  const init = spawnSync(initdb, initArgs, { cwd: dir, encoding: 'utf8' });
  if (init.status !== 0) {
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout || init.error}`);
  }

  const [postgres, pgArgs] = asPostgres(path.join(bin, 'postgres'), [
    // TCP on loopback only: no Unix socket (its path could outgrow the 107-byte limit).
    '-D', data, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
  ]);
  const service = new Service('postgres', postgres, pgArgs, logFile, { stopSignal: 'SIGINT', cwd: dir });
  service.start();
  const psql = (sql: string) =>
    spawnSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-tAc', sql], {
      encoding: 'utf8',
    });
  await waitUntil('postgres', service, async () => psql('SELECT 1').status === 0);
  const created = psql('CREATE DATABASE confab');
  if (created.status !== 0) throw new Error(`CREATE DATABASE failed: ${created.stderr}`);
  return { service, url: `postgres://postgres@127.0.0.1:${port}/confab` };
}

/// One Confab instance: the release binary serving dist/ on its own port.
export class Instance {
  readonly service: Service;
  /// Called after every (re)start, once ready.
  onStarted: () => void = () => {};

  private constructor(
    readonly id: string,
    readonly port: number,
    args: string[],
    logFile: string,
  ) {
    this.service = new Service(id, CONFAB_BIN, args, logFile, { env: { ...process.env, NO_COLOR: '1' } });
  }

  /// The instance's base URL (pages, API and WebSocket are all served from it).
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async create(options: {
    id: string;
    dir: string;
    databaseUrl: string;
    redisUrl: string;
  }): Promise<Instance> {
    for (const [what, file] of [['the server', CONFAB_BIN], ['the client', path.join(DIST_DIR, 'index.html')]]) {
      if (!fs.existsSync(file)) throw new Error(`${what} is not built (${file} is missing): run \`make e2e\``);
    }
    const port = await freePort();
    const dataDir = path.join(options.dir, options.id);
    fs.mkdirSync(dataDir, { recursive: true });
    const args = [
      '--listen', `127.0.0.1:${port}`,
      '--instance-id', options.id,
      '--data-dir', dataDir,
      '--database-url', options.databaseUrl,
      '--redis-url', options.redisUrl,
      '--dist-dir', DIST_DIR,
      // Instances behind one address share their files (as they share the database).
      '--files-dir', path.join(options.dir, 'files'),
    ];
    const instance = new Instance(options.id, port, args, path.join(options.dir, `${options.id}.log`));
    await instance.start();
    return instance;
  }

  /// Starts the process and waits for `/readyz` (database and Redis reachable).
  async start(): Promise<void> {
    this.service.start();
    await waitUntil(`confab ${this.id}`, this.service, async () => {
      const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      return res.ok;
    });
    this.onStarted();
  }

  /// SIGTERM (graceful: sockets close with 1001) and wait for the process to exit.
  async stop(): Promise<void> {
    await this.service.stop();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/// The whole set: Redis, PostgreSQL and instances `a` and `b`.
export class Cluster {
  private constructor(
    readonly dir: string,
    readonly redis: Service,
    readonly postgres: Service,
    private readonly pgDir: string,
    readonly a: Instance,
    readonly b: Instance,
  ) {}

  static async start(dir: string): Promise<Cluster> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const started: Service[] = [];
    let pgDir: string | undefined;
    try {
      const redis = await startRedis(path.join(dir, 'redis'));
      started.push(redis.service);
      pgDir = postgresDir(path.join(dir, 'pg'));
      const pg = await startPostgres(pgDir, path.join(dir, 'postgres.log'));
      started.push(pg.service);
      const common = { dir, databaseUrl: pg.url, redisUrl: redis.url };
      // One at a time: both migrate the same database at start.
      const a = await Instance.create({ id: 'e2e-a', ...common });
      started.push(a.service);
      const b = await Instance.create({ id: 'e2e-b', ...common });
      started.push(b.service);
      const cluster = new Cluster(dir, redis.service, pg.service, pgDir, a, b);
      // services.json: pids, command lines and logs, kept current across restarts.
      const describe = () =>
        fs.writeFileSync(path.join(dir, 'services.json'), JSON.stringify(cluster.describe(), null, 2));
      a.onStarted = b.onStarted = describe;
      describe();
      return cluster;
    } catch (err) {
      for (const service of started.reverse()) await service.stop().catch(() => {});
      if (pgDir) fs.rmSync(pgDir, { recursive: true, force: true });
      throw err;
    }
  }

  /// Pids, command lines and logs, for a human looking at a run.
  describe(): Record<string, { pid?: number; command: string; log: string; url?: string }> {
    const entry = (s: Service, url?: string) => ({ pid: s.pid, command: s.commandLine, log: s.logFile, url });
    return {
      redis: entry(this.redis),
      postgres: entry(this.postgres),
      a: entry(this.a.service, this.a.url),
      b: entry(this.b.service, this.b.url),
    };
  }

  get services(): Service[] {
    return [this.a.service, this.b.service, this.redis, this.postgres];
  }

  /// Stops the instances first (they hold connections to the others), then Redis and
  /// PostgreSQL, every stop attempted even when one fails; then drops the database files
  /// (the logs stay in the run's folder).
  async stop(): Promise<void> {
    const errors: unknown[] = [];
    for (const service of this.services) {
      await service.stop().catch((err) => errors.push(err));
    }
    if (errors.length > 0) throw new AggregateError(errors, 'some services did not stop');
    fs.rmSync(this.pgDir, { recursive: true, force: true });
  }
}
