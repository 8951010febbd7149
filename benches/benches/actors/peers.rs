//! Other actor crates (feature `peers`): the same counter in kameo, ractor and actix,
//! written as each crate's documentation shows, for the ask and memory sections.

use std::hint::black_box;

use benches::{Measured, Probe};

use crate::ask::{Contestant, Flavor, Role, warmup};
use crate::callers;
use crate::idle::{IdleCost, Measure, per_actor, settle};
use crate::{ALLOC, BenchResult, runtime};

pub fn ask_contestants() -> Vec<Contestant> {
    vec![
        Contestant {
            name: "kameo 0.22: ask",
            role: Role::Peer(Flavor::MultiThread),
            run: kameo_counter::ask,
        },
        Contestant {
            name: "ractor 0.16: call!",
            role: Role::Peer(Flavor::MultiThread),
            run: ractor_counter::ask,
        },
        Contestant {
            name: "actix 0.13: send (own System, 1 thread)",
            role: Role::Peer(Flavor::CurrentThread),
            run: actix_counter::ask,
        },
        Contestant {
            name: "actix 0.13: send from a tokio task to an Arbiter",
            role: Role::Peer(Flavor::MultiThread),
            run: actix_counter::ask_across_threads,
        },
    ]
}

/// kameo and ractor with the most callers of the callers section.
pub fn callers_contestants() -> Vec<callers::Contestant> {
    let most = callers::COUNTS[callers::COUNTS.len() - 1];
    vec![
        callers::Contestant {
            name: format!("{most} callers: kameo 0.22 ask"),
            side: callers::Side::Peer,
            callers: most,
            run: kameo_counter::ask_many,
        },
        callers::Contestant {
            name: format!("{most} callers: ractor 0.16 call!"),
            side: callers::Side::Peer,
            callers: most,
            run: ractor_counter::ask_many,
        },
    ]
}

pub fn idle_contestants() -> Vec<(&'static str, Measure)> {
    vec![
        ("kameo 0.22", kameo_counter::idle),
        ("ractor 0.16", ractor_counter::idle),
        ("actix 0.13 (own System)", actix_counter::idle),
    ]
}

mod kameo_counter {
    use kameo::prelude::*;

    use super::*;

    #[derive(Actor, Default)]
    pub struct Counter {
        count: i64,
    }

    pub struct Increment(pub i64);

    impl Message<Increment> for Counter {
        type Reply = i64;

        async fn handle(&mut self, Increment(by): Increment, _: &mut Context<Self, i64>) -> i64 {
            self.count += by;
            self.count
        }
    }

    pub fn ask(n: u64) -> BenchResult<Measured> {
        runtime()?.block_on(async move {
            let counter = Counter::spawn(Counter::default());
            let caller = tokio::spawn(async move {
                for _ in 0..warmup(n) {
                    counter
                        .ask(Increment(1))
                        .await
                        .map_err(|_| "kameo ask failed")?;
                }
                let probe = Probe::start(&ALLOC);
                for _ in 0..n {
                    black_box(
                        counter
                            .ask(Increment(1))
                            .await
                            .map_err(|_| "kameo ask failed")?,
                    );
                }
                BenchResult::Ok(probe.finish(n))
            });
            caller.await?
        })
    }

    pub fn ask_many(callers: usize, n: u64) -> BenchResult<Measured> {
        runtime()?.block_on(async move {
            let counter = Counter::spawn(Counter::default());
            callers::many(callers, n, move || {
                let counter = counter.clone();
                async move {
                    counter
                        .ask(Increment(1))
                        .await
                        .map_err(|_| "kameo ask failed".into())
                }
            })
            .await
        })
    }

    pub fn idle(n: usize) -> BenchResult<IdleCost> {
        ALLOC.start();
        let awake = runtime()?.block_on(async move {
            drop(Counter::spawn(Counter::default()));
            settle().await;
            let before = ALLOC.snapshot();
            let refs: Vec<ActorRef<Counter>> =
                (0..n).map(|_| Counter::spawn(Counter::default())).collect();
            settle().await;
            let awake = per_actor(ALLOC.snapshot(), before, n);
            drop(refs);
            awake
        });
        ALLOC.stop();
        Ok(IdleCost {
            awake,
            ..IdleCost::default()
        })
    }
}

mod ractor_counter {
    use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, call};

    use super::*;

    pub struct Counter;

    pub enum CounterMsg {
        Increment(i64, RpcReplyPort<i64>),
    }

    impl Actor for Counter {
        type Msg = CounterMsg;
        type State = i64;
        type Arguments = ();

        async fn pre_start(
            &self,
            _: ActorRef<Self::Msg>,
            (): (),
        ) -> Result<i64, ActorProcessingErr> {
            Ok(0)
        }

        async fn handle(
            &self,
            _: ActorRef<Self::Msg>,
            message: Self::Msg,
            count: &mut i64,
        ) -> Result<(), ActorProcessingErr> {
            match message {
                CounterMsg::Increment(by, reply) => {
                    *count += by;
                    let _ = reply.send(*count);
                }
            }
            Ok(())
        }
    }

    pub fn ask(n: u64) -> BenchResult<Measured> {
        runtime()?.block_on(async move {
            let (counter, handle) = Actor::spawn(None, Counter, ()).await?;
            let caller = tokio::spawn(async move {
                for _ in 0..warmup(n) {
                    call!(counter, CounterMsg::Increment, 1)?;
                }
                let probe = Probe::start(&ALLOC);
                for _ in 0..n {
                    black_box(call!(counter, CounterMsg::Increment, 1)?);
                }
                counter.stop(None);
                BenchResult::Ok(probe.finish(n))
            });
            let measured = caller.await?;
            handle.await?;
            measured
        })
    }

    pub fn ask_many(callers: usize, n: u64) -> BenchResult<Measured> {
        runtime()?.block_on(async move {
            let (counter, handle) = Actor::spawn(None, Counter, ()).await?;
            let asking = counter.clone();
            let measured = callers::many(callers, n, move || {
                let counter = asking.clone();
                async move { Ok(call!(counter, CounterMsg::Increment, 1)?) }
            })
            .await;
            counter.stop(None);
            handle.await?;
            measured
        })
    }

    pub fn idle(n: usize) -> BenchResult<IdleCost> {
        ALLOC.start();
        let awake = runtime()?.block_on(async move {
            let (warm, _) = Actor::spawn(None, Counter, ()).await?;
            warm.stop(None);
            settle().await;
            let before = ALLOC.snapshot();
            let mut refs = Vec::with_capacity(n);
            for _ in 0..n {
                refs.push(Actor::spawn(None, Counter, ()).await?.0);
            }
            settle().await;
            let awake = per_actor(ALLOC.snapshot(), before, n);
            for actor in refs {
                actor.stop(None);
            }
            BenchResult::Ok(awake)
        });
        ALLOC.stop();
        Ok(IdleCost {
            awake: awake?,
            ..IdleCost::default()
        })
    }
}

mod actix_counter {
    use actix::prelude::*;

    use super::*;

    pub struct Counter {
        count: i64,
    }

    impl Actor for Counter {
        type Context = Context<Self>;
    }

    #[derive(Message)]
    #[rtype(result = "i64")]
    pub struct Increment(pub i64);

    impl Handler<Increment> for Counter {
        type Result = i64;

        fn handle(&mut self, Increment(by): Increment, _: &mut Context<Self>) -> i64 {
            self.count += by;
            self.count
        }
    }

    /// Actix runs actors on its own single-threaded `System`; the caller is a task
    /// spawned on it, as in an actix application.
    pub fn ask(n: u64) -> BenchResult<Measured> {
        System::new().block_on(async move {
            let counter = Counter { count: 0 }.start();
            let caller = actix::spawn(async move {
                for _ in 0..warmup(n) {
                    counter.send(Increment(1)).await?;
                }
                let probe = Probe::start(&ALLOC);
                for _ in 0..n {
                    black_box(counter.send(Increment(1)).await?);
                }
                BenchResult::Ok(probe.finish(n))
            });
            caller.await?
        })
    }

    /// The actor on an actix `System` thread of its own, the caller a task on a tokio
    /// multi-thread runtime, as when an actix actor serves a tokio application.
    pub fn ask_across_threads(n: u64) -> BenchResult<Measured> {
        let (started, addr) = std::sync::mpsc::channel();
        let system = std::thread::spawn(move || {
            System::new().block_on(async move {
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                if started.send((Counter { count: 0 }.start(), stop)).is_ok() {
                    let _ = stopped.await;
                }
            })
        });
        let (counter, stop) = addr.recv()?;
        let measured = runtime()?.block_on(async move {
            let caller = tokio::spawn(async move {
                for _ in 0..warmup(n) {
                    counter.send(Increment(1)).await?;
                }
                let probe = Probe::start(&ALLOC);
                for _ in 0..n {
                    black_box(counter.send(Increment(1)).await?);
                }
                BenchResult::Ok(probe.finish(n))
            });
            caller.await?
        });
        drop(stop);
        system.join().map_err(|_| "the actix thread panicked")?;
        measured
    }

    pub fn idle(n: usize) -> BenchResult<IdleCost> {
        ALLOC.start();
        let awake = System::new().block_on(async move {
            drop(Counter { count: 0 }.start());
            actix::clock::sleep(std::time::Duration::from_millis(100)).await;
            let before = ALLOC.snapshot();
            let addrs: Vec<Addr<Counter>> = (0..n).map(|_| Counter { count: 0 }.start()).collect();
            actix::clock::sleep(std::time::Duration::from_millis(100)).await;
            let awake = per_actor(ALLOC.snapshot(), before, n);
            drop(addrs);
            awake
        });
        ALLOC.stop();
        Ok(IdleCost {
            awake,
            ..IdleCost::default()
        })
    }
}
