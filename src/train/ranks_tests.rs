//! Ranks as threads ([`Threads`]): whole runs on 2-5 ranks against one process, bit for bit.

use crate::activation::Activation;
use crate::data::Dataset;
use crate::distributed::Collective;
use crate::loss::Loss;
use crate::network::{Arch, Network};
use crate::optim::{Adam, Optimizer};
use crate::train::{
    EarlyStopping, Monitor, Observer, OnDivergence, RunPolicy, StopRules, TrainConfig, Trainer,
};
use std::sync::{Arc, Barrier, Mutex};

/// What a rank posts for a collective call.
#[derive(Clone, Default)]
struct Post {
    f32s: Vec<f32>,
    counts: Vec<usize>,
    f64s: Vec<f64>,
    value: u64,
}

/// A group of ranks that are threads of this process.
pub(crate) struct Threads {
    rank: usize,
    posts: Arc<Mutex<Vec<Post>>>,
    barrier: Arc<Barrier>,
}

impl Threads {
    /// The `n` ranks of one group.
    pub(crate) fn group(n: usize) -> Vec<Threads> {
        let posts = Arc::new(Mutex::new(vec![Post::default(); n]));
        let barrier = Arc::new(Barrier::new(n));
        (0..n)
            .map(|rank| Threads { rank, posts: Arc::clone(&posts), barrier: Arc::clone(&barrier) })
            .collect()
    }

    /// Posts this rank's part, waits for all, reads with `read` every rank's post, waits again.
    fn exchange<R>(&self, post: Post, read: impl FnOnce(&[Post]) -> R) -> R {
        self.posts.lock().unwrap()[self.rank] = post;
        self.barrier.wait();
        let out = read(&self.posts.lock().unwrap());
        self.barrier.wait();
        out
    }
}

impl Collective for Threads {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.posts.lock().unwrap().len()
    }
    fn all_to_all(&self, send: &[f32], send_counts: &[usize], recv: &mut [f32], recv_counts: &[usize]) {
        let post = Post { f32s: send.to_vec(), counts: send_counts.to_vec(), ..Post::default() };
        self.exchange(post, |posts| {
            let mut at = 0;
            for (q, p) in posts.iter().enumerate() {
                let from: usize = p.counts[..self.rank].iter().sum();
                assert_eq!(p.counts[self.rank], recv_counts[q], "rank {q} sends what {} expects", self.rank);
                recv[at..at + recv_counts[q]].copy_from_slice(&p.f32s[from..from + recv_counts[q]]);
                at += recv_counts[q];
            }
            assert_eq!(at, recv.len());
        });
    }
    fn all_gather(&self, send: &[f32], recv: &mut [f32], counts: &[usize]) {
        assert_eq!(send.len(), counts[self.rank]);
        let all = self.exchange(Post { f32s: send.to_vec(), ..Post::default() }, |posts| {
            posts.iter().flat_map(|p| p.f32s.clone()).collect::<Vec<f32>>()
        });
        recv.copy_from_slice(&all);
    }
    fn all_gather_f64(&self, send: &[f64], recv: &mut [f64], counts: &[usize]) {
        assert_eq!(send.len(), counts[self.rank]);
        let all = self.exchange(Post { f64s: send.to_vec(), ..Post::default() }, |posts| {
            posts.iter().flat_map(|p| p.f64s.clone()).collect::<Vec<f64>>()
        });
        recv.copy_from_slice(&all);
    }
    fn any(&self, flag: bool) -> bool {
        self.all_values(u64::from(flag)).contains(&1)
    }
    fn all_values(&self, value: u64) -> Vec<u64> {
        self.exchange(Post { value, ..Post::default() }, |posts| posts.iter().map(|p| p.value).collect())
    }
}

/// Trains `epochs` on every rank of a group of `ranks` threads (each with a team of `team`
/// threads), stopping when any rank's `stop_at` poll (if any) asks; returns every rank's
/// parameters, optimiser state and batches done.
fn on_ranks(
    net: &Network<f32>,
    data: &Dataset,
    cfg: &TrainConfig,
    ranks: usize,
    team: usize,
    stop_at: Option<(usize, usize)>,
) -> Vec<(Vec<u32>, Vec<u32>, usize, usize)> {
    on_ranks_with(net, (data, None), cfg, &RunPolicy::default(), (ranks, team), stop_at)
}

/// [`on_ranks`] with held-out data and a run policy.
fn on_ranks_with(
    net: &Network<f32>,
    (data, held): (&Dataset, Option<&Dataset>),
    cfg: &TrainConfig,
    policy: &RunPolicy,
    (ranks, team): (usize, usize),
    stop_at: Option<(usize, usize)>,
) -> Vec<(Vec<u32>, Vec<u32>, usize, usize)> {
    struct StopAt(Option<usize>, usize);
    impl Observer for StopAt {
        fn stop_requested(&mut self) -> bool {
            self.1 += 1;
            self.0 == Some(self.1)
        }
    }
    let groups = Threads::group(ranks);
    std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|g| {
                let (mut net, cfg) = (net.clone(), cfg.clone());
                let stop = stop_at.filter(|(r, _)| *r == g.rank()).map(|(_, at)| at);
                s.spawn(move || {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(team).build().unwrap();
                    pool.install(|| {
                        let mut t =
                            Trainer::on_ranks(&mut net, data, cfg, &g, crate::Threads::new(team).unwrap())
                                .unwrap();
                        t.run_policy(data, held, policy, &mut StopAt(stop, 0)).unwrap();
                        let state = t.state();
                        let (epochs, batches) = (t.epochs_done(), t.batches_done());
                        drop(t);
                        let opt = state
                            .optimizer
                            .buffers()
                            .iter()
                            .flat_map(|(_, b)| b.to_vec())
                            .collect::<Vec<_>>();
                        (bits(&net.params), bits(&opt), epochs, batches)
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn one_process(net: &Network<f32>, data: &Dataset, cfg: &TrainConfig, team: usize) -> (Vec<u32>, Vec<u32>) {
    let mut net = net.clone();
    let mut t = Trainer::with_team(&mut net, data, cfg.clone(), team).unwrap();
    t.run(data, None, &mut crate::train::Silent).unwrap();
    let state = t.state();
    drop(t);
    let opt = state.optimizer.buffers().iter().flat_map(|(_, b)| b.to_vec()).collect::<Vec<_>>();
    (bits(&net.params), bits(&opt))
}

#[test]
fn runs_on_2_to_5_ranks_are_bit_identical_to_one_process() {
    // 203 rows in batches of 48: 4 full batches and a last of 11 rows; shards of 7 rows give
    // 7 shards a batch (not a power of two: ranks own uneven, non-subtree shares) and 2 in the
    // last (some ranks own none).
    let data = crate::data::synthetic(203, 9, 4, 5);
    let arch = Arch::new(vec![9, 13, 6, 4], Activation::Tanh, Loss::Xent).unwrap();
    let net = Network::init(arch, 11);
    let base =
        TrainConfig { epochs: 2, batch: 48, shard: 7, lr: 0.3, momentum: 0.9, l2: 0.5, ..Default::default() };
    let configs = [
        base.clone(),
        TrainConfig { optimizer: Optimizer::Adam(Adam::default()), lr: 0.01, ..base.clone() },
        TrainConfig { clip_norm: Some(0.05), ..base.clone() },
        TrainConfig { class_weight: Some(vec![1.0, 2.0, 0.5, 1.5]), shard: 9, ..base.clone() },
    ];
    for cfg in &configs {
        let want = one_process(&net, &data, cfg, 1);
        for ranks in 2..=5 {
            for team in [1, 2] {
                for (r, got) in on_ranks(&net, &data, cfg, ranks, team, None).into_iter().enumerate() {
                    let what = format!("{ranks} ranks (rank {r}), team {team}, {cfg:?}");
                    assert!(got.0 == want.0, "parameters differ: {what}");
                    assert!(got.1 == want.1, "optimiser state differs: {what}");
                    assert_eq!((got.2, got.3), (2, 0), "{what}");
                }
            }
        }
    }
}

#[test]
fn a_stop_on_one_rank_stops_every_rank_after_the_same_batch() {
    let data = crate::data::synthetic(120, 5, 3, 2);
    let net = Network::init(Arch::new(vec![5, 4, 3], Activation::Relu, Loss::Xent).unwrap(), 3);
    let cfg = TrainConfig { epochs: 3, batch: 32, shard: 8, ..Default::default() };
    // Rank 1 asks at its 6th poll: after batch 2 of epoch 2 (polls after batches 1-3 and at
    // the boundary of epoch 1).
    let runs = on_ranks(&net, &data, &cfg, 2, 1, Some((1, 6)));
    assert_eq!((runs[0].2, runs[0].3), (1, 2));
    assert!(runs[0] == runs[1], "the ranks stopped at different points");
}

#[test]
fn a_group_with_more_ranks_than_shards_is_refused() {
    let data = crate::data::synthetic(100, 5, 3, 2);
    let mut net = Network::init(Arch::new(vec![5, 4, 3], Activation::Relu, Loss::Xent).unwrap(), 3);
    let cfg = TrainConfig { batch: 32, shard: 16, ..Default::default() };
    let group = Threads::group(4);
    let err = Trainer::on_ranks(&mut net, &data, cfg, &group[0], crate::Threads::ONE).err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("4 ranks") && text.contains("at most 8"), "{text}");
}

#[test]
fn halve_lr_retries_and_early_stopping_on_ranks_match_one_process() {
    let data = crate::data::synthetic(150, 6, 3, 8);
    let (train, held) = data.split(0.2, 1).unwrap();
    let net = Network::init(Arch::new(vec![6, 12, 3], Activation::Relu, Loss::Xent).unwrap(), 5);
    // A rate that diverges at first: the run halves it until an epoch gets through.
    let cfg = TrainConfig { epochs: 30, batch: 24, shard: 5, lr: 1e4, momentum: 0.9, ..Default::default() };
    let early = EarlyStopping { patience: 2, monitor: Monitor::Loss, restore_best: true };
    let policy = RunPolicy {
        on_divergence: OnDivergence::HalveLr { max_retries: 30 },
        stop_rules: StopRules { early_stopping: Some(early), ..StopRules::default() },
        ..RunPolicy::default()
    };
    let mut alone = net.clone();
    let mut t = Trainer::with_team(&mut alone, &train, cfg.clone(), 1).unwrap();
    let out = t.run_policy(&train, Some(&held), &policy, &mut crate::train::Silent).unwrap();
    let (lr, epochs) = (t.config().lr, t.epochs_done());
    drop(t);
    assert!(lr < 1e3, "the rate was never halved: {lr}");
    assert!(epochs < 30 && out.reason.is_some(), "early stopping never held ({epochs} epochs)");
    for ranks in [2, 3] {
        for got in on_ranks_with(&net, (&train, Some(&held)), &cfg, &policy, (ranks, 1), None) {
            assert!(got.0 == bits(&alone.params), "{ranks} ranks: parameters differ");
            assert_eq!(got.2, epochs, "{ranks} ranks: stopped after another epoch");
        }
    }
}

/// A library user's own group is checked too: ranks whose CPUs pick other kernels are refused
/// by `Trainer::on_ranks`, before any step.
#[test]
fn ranks_on_cpus_of_another_kind_are_refused() {
    struct OtherCpu;
    impl Collective for OtherCpu {
        fn rank(&self) -> usize {
            0
        }
        fn size(&self) -> usize {
            2
        }
        fn all_to_all(&self, _: &[f32], _: &[usize], _: &mut [f32], _: &[usize]) {
            unreachable!("no step runs")
        }
        fn all_gather(&self, _: &[f32], _: &mut [f32], _: &[usize]) {
            unreachable!("no step runs")
        }
        fn all_gather_f64(&self, _: &[f64], _: &mut [f64], _: &[usize]) {
            unreachable!("no step runs")
        }
        fn any(&self, flag: bool) -> bool {
            flag
        }
        fn all_values(&self, value: u64) -> Vec<u64> {
            // Rank 1 reports another set of vector instructions.
            vec![value, value ^ 1]
        }
    }
    let data = crate::data::synthetic(40, 3, 2, 1);
    let mut net = Network::<f32>::init(Arch::new(vec![3, 4, 2], Activation::Tanh, Loss::Xent).unwrap(), 1);
    let cfg = TrainConfig { batch: 8, shard: 4, ..TrainConfig::default() };
    let err = Trainer::on_ranks(&mut net, &data, cfg, &OtherCpu, crate::Threads::ONE).err().expect("refused");
    assert!(
        err.to_string().contains("rank 1 and rank 0 run on CPUs with different vector instructions"),
        "{err}"
    );
}
