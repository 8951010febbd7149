//! One action as a future the instance loop can poll beside others.

use std::future::poll_fn;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Either};
use tokio::sync::oneshot;
use tokio::time::error::Elapsed;
use tracing::Instrument;

use crate::connection::{Conn, ConnOp, Connection};
use crate::ctx::Ctx;
use crate::definition::Actor;
use crate::driver::SaveOp;
use crate::error::{ActorError, codes, panic_message};
use crate::mailbox::{Command, Reply};
use crate::payload::Payload;
use crate::queue::Delivery;
use crate::route::Target;

use super::events::Staged;
use super::looping::LoopFn;
use super::scope::{self, CallChain, Scope, Scoped};
use super::start::encode_state;

/// What a turn is asked to run: an action (or, with a delivery, a queue's handler) by
/// index, its arguments (the message), and the call chain it was made from.
pub(super) struct Call {
    pub(super) index: usize,
    pub(super) args: Payload,
    pub(super) chain: CallChain,
    /// Set for a queue handler's turn: the message it runs on.
    pub(super) delivery: Option<Delivery>,
    /// Set for a call a connection makes.
    pub(super) conn: Option<ConnCall>,
}

/// What a call does for a connection (see `crate::connection`).
pub(super) enum ConnCall {
    /// Calls the action `index`, which sees the connection.
    Action(Connection),
    /// Opens it: `on_before_connect` on the params (the call's arguments), then, for a
    /// connection that receives events, its registration and `on_connect`.
    Open(Connection),
    /// Closes it: `on_disconnect`, if it was registered.
    Close(Connection),
}

impl Call {
    /// A call of action `index`.
    pub(super) fn action(index: usize, args: Payload, chain: CallChain) -> Self {
        Self {
            index,
            args,
            chain,
            delivery: None,
            conn: None,
        }
    }

    /// This action call, made through `conn` when it is given (so `ctx.conn()` sees it).
    pub(super) fn through(self, conn: Option<&Connection>) -> Self {
        Self {
            conn: conn.map(|conn| ConnCall::Action(conn.clone())),
            ..self
        }
    }

    /// The call `cmd` makes, of action `index` (ignored for a connection's open or close).
    pub(super) fn of(index: usize, cmd: Command) -> (Self, oneshot::Sender<Reply>) {
        let Command {
            target,
            args,
            reply,
            chain,
            ..
        } = cmd;
        let conn = match target {
            Target::Connection(ConnOp::Action { conn, .. }) => Some(ConnCall::Action(conn)),
            Target::Connection(ConnOp::Open(conn)) => Some(ConnCall::Open(conn)),
            Target::Connection(ConnOp::Close(conn)) => Some(ConnCall::Close(conn)),
            _ => None,
        };
        let call = Self {
            conn,
            ..Self::action(index, args, chain)
        };
        (call, reply)
    }

    /// The connection of an action called from one.
    fn action_conn(&self) -> Option<Connection> {
        match &self.conn {
            Some(ConnCall::Action(conn)) => Some(conn.clone()),
            _ => None,
        }
    }

    /// A run of queue `index`'s handler on `message`; such a turn is called from
    /// outside any other.
    pub(super) fn message(index: usize, message: Payload, delivery: Delivery) -> Self {
        Self {
            index,
            args: message,
            chain: CallChain::default(),
            delivery: Some(delivery),
            conn: None,
        }
    }
}

/// What an exclusive turn takes from the instance's core while it runs
/// (`Core::take_for_turn`).
pub(super) struct Taken<A> {
    pub(super) state: Arc<A>,
    /// The scope the last exclusive turn gave back.
    pub(super) scope: Option<Arc<dyn Scope>>,
    /// The state as last saved, to tell whether the turn changed it.
    pub(super) last: Arc<[u8]>,
}

/// A finished exclusive turn.
pub(super) struct TurnDone<A> {
    /// The state after the turn; `None` when the turn timed out or panicked and its
    /// changes must be thrown away.
    pub(super) state: Option<Arc<A>>,
    /// The new serialized state, when the turn changed it.
    pub(super) changed: Option<Arc<[u8]>>,
    /// The records the turn staged, committed with its state.
    pub(super) staged: Vec<SaveOp>,
    /// The events it sent, released once its commit is durable.
    pub(super) events: Vec<Staged>,
    pub(super) result: Reply,
}

impl<A> TurnDone<A> {
    /// Why a queue handler's turn counts as failed (it returned an error, or its changes
    /// were thrown away); `None` for a success.
    pub(super) fn failure(&self) -> Option<ActorError> {
        match (&self.state, &self.result) {
            (Some(_), Ok(_)) => None,
            (_, Err(err)) => Some(err.clone()),
            (None, Ok(_)) => Some(ActorError::internal(
                "queue handler",
                "the turn's changes were discarded",
            )),
        }
    }
}

/// A finished shared action.
pub(super) struct SharedDone {
    /// The commit sequence the snapshot it read had reached.
    pub(super) seq: u64,
    pub(super) result: Reply,
}

/// The name a turn goes by in its span and errors (the action's, the queue's for a
/// handler's turn on `delivery`, the hook's for a connection's open or close), and its
/// kind.
fn names<A: Actor>(
    index: usize,
    delivery: Option<&Delivery>,
    conn: Option<&ConnCall>,
) -> (&'static str, &'static str) {
    match (delivery, conn) {
        (Some(delivery), _) => (delivery.queue, "queue"),
        (None, Some(ConnCall::Open(_))) => ("on_before_connect", "connection"),
        (None, Some(ConnCall::Close(_))) => ("on_disconnect", "connection"),
        (None, _) => (A::ACTIONS[index].name, "exclusive"),
    }
}

/// The user's method an exclusive turn calls: exclusive action `index`, the handler of
/// queue `index`, or a connection's hooks.
fn dispatch<'a, A: Actor>(
    state: &'a mut A,
    ctx: &'a Ctx<A>,
    index: usize,
    args: Payload,
    handler: bool,
    conn: Option<ConnCall>,
) -> impl Future<Output = Result<Payload, ActorError>> + Send + 'a {
    match conn {
        Some(ConnCall::Open(conn)) => Either::Right(open(state, ctx, conn, args).boxed()),
        Some(ConnCall::Close(conn)) => Either::Right(close(state, ctx, conn).boxed()),
        _ if handler => Either::Left(Either::Right(state.call_queue(ctx, index, args))),
        _ => Either::Left(Either::Left(state.call_exclusive(ctx, index, args))),
    }
}

/// A connection's open: `on_before_connect` makes its state from the params, or refuses
/// it; a connection that receives events is registered and `on_connect` runs.
async fn open<A: Actor>(
    state: &mut A,
    ctx: &Ctx<A>,
    conn: Connection,
    params: Payload,
) -> Result<Payload, ActorError> {
    let conn_state = state.on_before_connect(ctx, params).await?;
    if !conn.set_opened(ctx.id().clone(), Box::new(conn_state)) {
        return Err(ActorError::internal(
            "a connection's open",
            format_args!("connection {} was opened already", conn.id()),
        ));
    }
    if conn.encoding().is_some() {
        ctx.register(conn.clone());
        // Unregistered again unless `on_connect` returns `Ok`: also when it panics or
        // times out (its future is dropped), so a failed open holds nothing.
        let registered = Registered {
            ctx,
            conn: Some(conn.clone()),
        };
        state.on_connect(ctx, &Conn::new(conn)).await?;
        registered.keep();
    }
    Ok(Payload::local(()))
}

/// A connection registered by its open, until the open succeeds.
struct Registered<'a, A: Actor> {
    ctx: &'a Ctx<A>,
    conn: Option<Connection>,
}

impl<A: Actor> Registered<'_, A> {
    fn keep(mut self) {
        self.conn = None;
    }
}

impl<A: Actor> Drop for Registered<'_, A> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.ctx.unregister(&conn);
        }
    }
}

/// A connection's close: `on_disconnect` runs if it was open; the second close of one
/// does nothing.
async fn close<A: Actor>(
    state: &mut A,
    ctx: &Ctx<A>,
    conn: Connection,
) -> Result<Payload, ActorError> {
    if ctx.unregister(&conn) {
        state.on_disconnect(ctx, &Conn::new(conn)).await?;
    }
    Ok(Payload::local(()))
}

/// Runs `call` under `limit`. Most actions finish on their first poll, so the timer is
/// armed only for one that does not.
async fn within<F: Future>(limit: Duration, call: F) -> Result<F::Output, Elapsed> {
    let mut call = pin!(call);
    if let Poll::Ready(out) = poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await {
        return Ok(out);
    }
    // Boxed so the timer's space is paid only by actions that actually wait.
    Box::pin(tokio::time::timeout(limit, call)).await
}

/// The error for an action that ran past its timeout.
fn timed_out(action: &str, timeout: Duration) -> ActorError {
    ActorError::timed_out(action, timeout)
}

/// The error for an action or hook (named by `action`) that panicked, with the panic
/// message logged.
pub(super) fn panicked(action: &str, panic: Box<dyn std::any::Any + Send>) -> ActorError {
    let cause = panic_message(&*panic);
    tracing::error!(action, cause, "action panicked; its changes were discarded");
    ActorError::internal(
        &format!("`{action}` panicked"),
        format_args!("{cause}; its changes were discarded"),
    )
}

/// Logs an error leaving an action: internal ones loudly, with their cause.
pub(super) fn log_result(action: &str, result: &Reply) {
    if let Err(err) = result {
        if err.group() == "actor"
            && (err.is(codes::INTERNAL)
                || err.is(codes::STORAGE)
                || err.is(codes::SERIALIZATION_FAILED))
        {
            tracing::error!(action, error = %err, "action failed");
        } else {
            tracing::debug!(action, error = %err, "action returned an error");
        }
    }
}

/// Runs exclusive action `index` (or queue `index`'s handler, for a call with a
/// delivery) on the taken state, copying it first only if a shared action still reads
/// it; the scope is the one the instance's last turn gave back, if it kept it. A
/// handler's error discards its changes, as a panic does: the message is tried again,
/// and its effect on the state must happen once.
pub(super) fn exclusive<A: Actor>(
    Taken {
        mut state,
        scope,
        last,
    }: Taken<A>,
    ctx: Ctx<A>,
    call: Call,
    timeout: Duration,
) -> Scoped<BoxFuture<'static, TurnDone<A>>> {
    let action_conn = call.action_conn();
    let Call {
        index,
        args,
        chain,
        delivery,
        conn,
    } = call;
    let (action, access) = names::<A>(index, delivery.as_ref(), conn.as_ref());
    let handler = delivery.is_some();
    let span = action_span(action, access);
    let scope = ctx.begin_turn(chain, delivery.map(|d| (index, d)), action_conn, scope);
    let turn = async move {
        let outcome = {
            let st = Arc::make_mut(&mut state);
            let call = dispatch(st, &ctx, index, args, handler, conn);
            within(timeout, AssertUnwindSafe(call).catch_unwind()).await
        };
        let outcome = match outcome {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(panic)) => Err(panicked(action, panic)),
            Err(_) => Err(timed_out(action, timeout)),
        };
        let ended = ctx.end_turn();
        let mut done = conclude(action, state, outcome, ended, &last, handler);
        if A::HAS_ON_STATE_CHANGE
            && done.changed.is_some()
            && let Some(state) = &done.state
        {
            let hook = AssertUnwindSafe(state.on_state_change(&ctx)).catch_unwind();
            if hook.await.is_err() {
                tracing::error!(action, "on_state_change panicked");
            }
            // What the hook staged commits with the state it saw.
            let (staged, events) = ctx.end_turn();
            done.staged.extend(staged);
            done.events.extend(events);
        }
        #[cfg(feature = "sqlite")]
        super::database::finish_turn(&ctx, &mut done).await;
        done
    };
    Scoped::exclusive(scope, turn.instrument_if_enabled(span))
}

/// Runs a change a `#[run]` loop asked for (`Loop::turn`) as an exclusive turn: a plain
/// closure, so it ends on its first poll; its result or panic is concluded like an
/// action's.
pub(super) fn closure<A: Actor>(
    Taken {
        mut state,
        scope,
        last,
    }: Taken<A>,
    ctx: Ctx<A>,
    change: LoopFn<A>,
) -> Scoped<BoxFuture<'static, TurnDone<A>>> {
    const WHAT: &str = "run loop or workflow turn";
    let scope = ctx.begin_turn(CallChain::default(), None, None, scope);
    let turn = async move {
        let outcome = {
            let st = Arc::make_mut(&mut state);
            std::panic::catch_unwind(AssertUnwindSafe(|| change(st, &ctx)))
        }
        .map_err(|panic| panicked(WHAT, panic));
        let ended = ctx.end_turn();
        conclude(WHAT, state, outcome, ended, &last, false)
    };
    Scoped::exclusive(scope, turn.boxed())
}

/// Whether `call` (an exclusive action, or a queue handler) never waits and nothing runs
/// after it in its turn: then its turn is run to its end at once ([`exclusive_now`]).
pub(super) fn runs_now<A: Actor>(call: &Call) -> bool {
    !A::HAS_ON_STATE_CHANGE
        && match (&call.delivery, &call.conn) {
            (_, Some(ConnCall::Open(_) | ConnCall::Close(_))) => false,
            (None, _) => A::exclusive_now(call.index),
            (Some(_), _) => A::queue_now(call.index),
        }
}

/// Runs `call`, an exclusive action or a queue handler that never waits ([`runs_now`]), to
/// its end on the caller's stack: the same turn as [`exclusive`] without a future to box.
/// Returns the scope for the instance's next turn with it.
pub(super) fn exclusive_now<A: Actor>(
    Taken {
        mut state,
        scope,
        last,
    }: Taken<A>,
    ctx: &Ctx<A>,
    call: Call,
) -> (TurnDone<A>, Option<Arc<dyn Scope>>) {
    let Call {
        index,
        args,
        chain,
        delivery,
        conn,
    } = call;
    let (action, access) = names::<A>(index, delivery.as_ref(), conn.as_ref());
    // A connection's open or close never runs now (`runs_now`): only the connection of
    // an action's call is left, and the turn's scope carries it.
    let action_conn = match conn {
        Some(ConnCall::Action(conn)) => Some(conn),
        _ => None,
    };
    let handler = delivery.is_some();
    let span = action_span(action, access);
    let _entered = span.as_ref().map(tracing::Span::enter);
    let mut scope = Some(ctx.begin_turn(chain, delivery.map(|d| (index, d)), action_conn, scope));
    let outcome = scope::lent(&mut scope, || {
        let st = Arc::make_mut(&mut state);
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            // Each method's future polled as it is, not through `dispatch`'s `Either`.
            if handler {
                poll_once(st.call_queue(ctx, index, args))
            } else {
                poll_once(st.call_exclusive(ctx, index, args))
            }
        }))
    });
    let outcome = match outcome {
        Ok(Poll::Ready(result)) => Ok(result),
        Ok(Poll::Pending) => Err(never_waits_but_did(
            action,
            if handler {
                "queue_now"
            } else {
                "exclusive_now"
            },
        )),
        Err(panic) => Err(panicked(action, panic)),
    };
    let ended = ctx.end_turn();
    (
        conclude(action, state, outcome, ended, &last, handler),
        scope,
    )
}

/// Polls `turn` once, with a waker that does nothing: a turn that [`runs_now`] ends there.
fn poll_once<F: Future>(turn: F) -> Poll<F::Output> {
    pin!(turn).poll(&mut Context::from_waker(Waker::noop()))
}

/// The end of an exclusive turn that ran: its changes thrown away if it failed to finish
/// (`Err`: it panicked or timed out), if it returned an error and `discard_errors` (a
/// queue handler's turn), or if its state does not serialize; otherwise the state
/// serialized and compared with `last`, the bytes last saved.
fn conclude<A: Actor>(
    action: &'static str,
    state: Arc<A>,
    outcome: Result<Reply, ActorError>,
    (staged, events): (Vec<SaveOp>, Vec<Staged>),
    last: &[u8],
    discard_errors: bool,
) -> TurnDone<A> {
    let discarded = |err| TurnDone {
        state: None,
        changed: None,
        staged: Vec::new(),
        events: Vec::new(),
        result: Err(err),
    };
    let result = match outcome {
        Ok(Err(err)) if discard_errors => return discarded(err),
        Ok(result) => result,
        Err(err) => return discarded(err),
    };
    let changed = with_scratch(|scratch| {
        // A panicking `Serialize` impl is caught like a panicking action.
        std::panic::catch_unwind(AssertUnwindSafe(|| encode_state(&*state, scratch)))
            .unwrap_or_else(|panic| Err(panicked(action, panic)))
            .map(|()| (scratch[..] != last[..]).then(|| Arc::from(&scratch[..])))
    });
    let changed = match changed {
        Ok(changed) => changed,
        Err(err) => {
            tracing::error!(action, error = %err, "state could not be serialized; the turn's changes were discarded");
            return discarded(err);
        }
    };
    log_result(action, &result);
    TurnDone {
        state: Some(state),
        changed,
        staged,
        events,
        result,
    }
}

/// The largest buffer a thread keeps for serializing states between turns: a larger one
/// (a turn of a very large state) is freed after its turn.
const SCRATCH_KEPT: usize = 64 * 1024;

thread_local! {
    /// Where turns on this thread serialize the state before it is compared with the
    /// last saved bytes: kept per thread, not per instance, so an idle instance holds no
    /// buffer and a turn allocates none for it.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Runs `f` with this thread's serialization buffer. A `Cell`, not a `RefCell`: a use
/// nested inside `f` (a `Serialize` impl that serializes another actor's state) gets an
/// empty buffer of its own instead of a panic.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut scratch = SCRATCH.take();
    let result = f(&mut scratch);
    if scratch.capacity() <= SCRATCH_KEPT {
        SCRATCH.set(scratch);
    }
    result
}

/// Runs shared action `index` on a snapshot.
pub(super) fn shared<A: Actor>(
    snapshot: Arc<A>,
    seq: u64,
    ctx: Ctx<A>,
    call: Call,
    timeout: Duration,
) -> Scoped<BoxFuture<'static, SharedDone>> {
    let SharedCall {
        index,
        args,
        scope,
        action,
        span,
    } = SharedCall::of::<A>(call);
    let turn = async move {
        let call = AssertUnwindSafe(snapshot.call_shared(&ctx, index, args)).catch_unwind();
        let result = match within(timeout, call).await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(panicked(action, panic)),
            Err(_) => Err(timed_out(action, timeout)),
        };
        log_result(action, &result);
        SharedDone { seq, result }
    };
    Scoped::shared(scope, turn.instrument_if_enabled(span))
}

/// A shared action's call taken apart for its run, as a future or at once: its
/// scope passes the caller's chain and connection on (none from outside any turn and
/// connection, as nearly every call is).
struct SharedCall {
    index: usize,
    args: Payload,
    scope: Option<Arc<dyn Scope>>,
    action: &'static str,
    span: Option<tracing::Span>,
}

impl SharedCall {
    fn of<A: Actor>(call: Call) -> Self {
        let conn = call.action_conn();
        let Call {
            index, args, chain, ..
        } = call;
        let action = A::ACTIONS[index].name;
        Self {
            index,
            args,
            scope: scope::passed_on(chain, conn),
            action,
            span: action_span(action, "shared"),
        }
    }
}

/// Runs `call`, a shared action that never waits (`Actor::shared_now`), to its end on the
/// caller's stack: the same action as [`shared`] without a future to box or a context to
/// clone. It cannot outlast its timeout: it never waits.
pub(super) fn shared_now<A: Actor>(snapshot: &A, ctx: &Ctx<A>, call: Call) -> Reply {
    let SharedCall {
        index,
        args,
        mut scope,
        action,
        span,
    } = SharedCall::of::<A>(call);
    let _entered = span.as_ref().map(tracing::Span::enter);
    let outcome = scope::lent(&mut scope, || {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            poll_once(snapshot.call_shared(ctx, index, args))
        }))
    });
    let result = match outcome {
        Ok(Poll::Ready(result)) => result,
        Ok(Poll::Pending) => Err(never_waits_but_did(action, "shared_now")),
        Err(panic) => Err(panicked(action, panic)),
    };
    log_result(action, &result);
    result
}

/// The error for a turn run at once (`declared` says it never waits) that waited.
fn never_waits_but_did(action: &str, declared: &str) -> ActorError {
    ActorError::internal(
        &format!("`{action}`"),
        format_args!(
            "it waited, though `Actor::{declared}` says it never does; the call failed and \
             changed nothing"
        ),
    )
}

/// The span of one action, made only if something listens: with tracing's `log` feature
/// on (sqlx turns it on), even a disabled span costs about 130 instructions to make.
fn action_span(action: &'static str, access: &'static str) -> Option<tracing::Span> {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return None;
    }
    let span = tracing::debug_span!("action", name = action, access);
    (!span.is_disabled()).then_some(span)
}

/// Boxes a turn, entering its span on each poll if it has one.
trait InstrumentIfEnabled: Future + Send + Sized + 'static {
    fn instrument_if_enabled(
        self,
        span: Option<tracing::Span>,
    ) -> BoxFuture<'static, Self::Output> {
        match span {
            None => self.boxed(),
            Some(span) => self.instrument(span).boxed(),
        }
    }
}

impl<F: Future + Send + 'static> InstrumentIfEnabled for F {}

/// An error for a call the instance could not take at all.
pub(super) fn rejected(err: ActorError, reply: oneshot::Sender<Reply>) {
    let _ = reply.send(Err(err));
}
