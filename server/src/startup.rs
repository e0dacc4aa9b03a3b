//! Building and running the server: open the database, pick the bus, bind the listener
//! (port 0 allowed, the bound address reported), serve until a shutdown signal, then close
//! every socket with "going away" so clients move on, and close the database.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::{InstanceId, close};
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::bus::RedisBus;
use crate::config::Config;
use crate::db::Db;
use crate::files::Files;
use crate::presence::Presence;
use crate::rate_limit::{PostLimiter, SignInLimiter};
use crate::realtime::Realtime;
use crate::routes;
use crate::state::{AppState, Settings};
use crate::ws::UserSlots;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] crate::db::OpenError),
    /// The file store could not be opened.
    #[error(transparent)]
    Files(#[from] crate::files::OpenError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The Redis URL is malformed.
    #[error("invalid --redis-url: {0}")]
    Redis(#[source] redis::RedisError),
}

/// A server ready to run.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    router: axum::Router,
}

impl Application {
    /// Opens the database, binds the listener and builds the router.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        crate::metrics::install();
        let instance = InstanceId(
            config
                .instance_id
                .clone()
                .unwrap_or_else(random_instance_id),
        );
        let db = Db::open(&config).await?;
        let files = Files::open(&config)?;
        let redis = match &config.redis_url {
            None => None,
            Some(url) => Some(RedisBus::client(url).map_err(StartError::Redis)?),
        };
        let realtime = Realtime::new(
            instance.clone(),
            redis.clone(),
            config.outbound_queue,
            db.clone(),
        );
        let presence = Presence::start(
            redis,
            instance,
            Duration::from_secs(config.presence_ttl_secs.max(1)),
            db.clone(),
            realtime.clone(),
        )
        .map_err(StartError::Redis)?;
        let settings = Arc::new(Settings {
            allowed_origins: config.allowed_origins.clone(),
            secure_cookies: config.secure_cookies,
            max_frames_per_sec: config.max_frames_per_sec,
            idle_timeout: Duration::from_secs(config.idle_timeout_secs.max(1)),
        });
        let state = AppState {
            db,
            realtime,
            presence,
            files,
            posts: PostLimiter::new(config.max_posts_per_sec),
            sign_ins: SignInLimiter::new(config.max_sign_ins_per_min),
            sockets: UserSlots::new(config.max_sockets_per_user),
            settings,
        };
        let router = routes::router(state.clone(), &config.dist_dir);
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        Ok(Self {
            listener,
            address,
            state,
            router,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// This instance's id.
    pub fn instance(&self) -> &InstanceId {
        self.state.realtime.instance()
    }

    /// Serves until `shutdown` completes, then closes every WebSocket with 1001 and waits
    /// for in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            listener,
            address,
            state,
            router,
        } = self;
        let span = tracing::info_span!("confab", instance = %state.realtime.instance());
        async move {
            tracing::info!(%address, "listening");
            let realtime = state.realtime.clone();
            let signal = async move {
                shutdown.await;
                tracing::info!("shutting down: closing WebSockets");
                realtime.hub().close_all(close::GOING_AWAY);
            };
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(signal)
                .await;
            state.db.close().await;
            tracing::info!("stopped");
            served
        }
        .instrument(span)
        .await
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

fn random_instance_id() -> String {
    let (token, _) = crate::auth::session::new_token();
    format!("confab-{}", &token[..8])
}
