//! Expected-time-to-compute (ETC) matrices for unrelated machines, and the Braun et al. (2001)
//! generator of the classic heuristic benchmark suite.
//!
//! An [`EtcMatrix`] holds, for every task `i` and machine `j`, the time in seconds that task `i`
//! would take on machine `j`. On the wire it is `{"etc": [[f64; machines]; tasks]}`.
//!
//! The generator follows T. D. Braun et al., *A Comparison of Eleven Static Heuristics for Mapping a
//! Class of Independent Tasks onto Heterogeneous Distributed Computing Systems*, JPDC 61(6), 2001:
//! `ETC[i][j] = task_base[i] × machine_factor[i][j]`, with the base drawn from `U(1, 3000)` (high
//! task heterogeneity) or `U(1, 100)` (low), and each factor from `U(1, 1000)` (high machine
//! heterogeneity) or `U(1, 10)` (low). A consistent matrix has every row sorted ascending (machine
//! 0 is the fastest for every task), a semi-consistent one has the even columns of every row sorted
//! among themselves, an inconsistent one is left as drawn.

use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A tasks × machines matrix of expected times to compute, in seconds (row-major).
///
/// Every entry is finite and strictly positive, and there is at least one task and one machine;
/// the constructors and deserialization enforce this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EtcWire", into = "EtcWire")]
pub struct EtcMatrix {
    tasks: usize,
    machines: usize,
    data: Vec<f64>,
}

/// The JSON shape of an [`EtcMatrix`]: `{"etc": [[f64; machines]; tasks]}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EtcWire {
    etc: Vec<Vec<f64>>,
}

impl TryFrom<EtcWire> for EtcMatrix {
    type Error = Error;
    fn try_from(wire: EtcWire) -> Result<Self> {
        EtcMatrix::from_rows(wire.etc)
    }
}

impl From<EtcMatrix> for EtcWire {
    fn from(matrix: EtcMatrix) -> Self {
        EtcWire {
            etc: matrix.to_rows(),
        }
    }
}

impl EtcMatrix {
    /// Builds a matrix from row-major data: `data[i * machines + j]` is the time of task `i` on
    /// machine `j`.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `etc` when a dimension is zero or `data.len() != tasks × machines`,
    /// or naming `etc[i][j]` when that entry is not finite or not strictly positive.
    pub fn new(tasks: usize, machines: usize, data: Vec<f64>) -> Result<Self> {
        if tasks == 0 {
            return Err(Error::invalid(
                "etc",
                "the matrix needs at least one task (row)",
            ));
        }
        if machines == 0 {
            return Err(Error::invalid(
                "etc",
                "the matrix needs at least one machine (column)",
            ));
        }
        let expected = tasks.checked_mul(machines).ok_or_else(|| {
            Error::invalid(
                "etc",
                format!("{tasks} × {machines} entries overflow usize"),
            )
        })?;
        if data.len() != expected {
            return Err(Error::invalid(
                "etc",
                format!(
                    "{} entries given for {tasks} tasks × {machines} machines ({expected} expected)",
                    data.len()
                ),
            ));
        }
        if let Some(k) = data.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(Error::invalid(
                format!("etc[{}][{}]", k / machines, k % machines),
                format!(
                    "{} is not a finite, strictly positive number of seconds",
                    data[k]
                ),
            ));
        }
        Ok(EtcMatrix {
            tasks,
            machines,
            data,
        })
    }

    /// Builds a matrix from one row per task, each with one entry per machine.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `etc` when there is no row or the first row is empty, `etc[i]`
    /// when row `i` is not as long as the first (the matrix must be rectangular), or `etc[i][j]`
    /// when an entry is not finite or not strictly positive.
    pub fn from_rows(rows: Vec<Vec<f64>>) -> Result<Self> {
        let tasks = rows.len();
        let machines = rows.first().map_or(0, Vec::len);
        if tasks == 0 {
            return Err(Error::invalid(
                "etc",
                "the matrix needs at least one task (row)",
            ));
        }
        if machines == 0 {
            return Err(Error::invalid(
                "etc[0]",
                "the matrix needs at least one machine (column)",
            ));
        }
        let mut data = Vec::with_capacity(tasks.saturating_mul(machines));
        for (i, row) in rows.into_iter().enumerate() {
            if row.len() != machines {
                return Err(Error::invalid(
                    format!("etc[{i}]"),
                    format!(
                        "row has {} entries but row 0 has {machines}: the matrix must be rectangular",
                        row.len()
                    ),
                ));
            }
            data.extend(row);
        }
        EtcMatrix::new(tasks, machines, data)
    }

    /// Number of tasks (rows).
    pub fn tasks(&self) -> usize {
        self.tasks
    }

    /// Number of machines (columns).
    pub fn machines(&self) -> usize {
        self.machines
    }

    /// Expected time of task `task` on machine `machine`, in seconds.
    ///
    /// # Panics
    /// When `task >= self.tasks()` or `machine >= self.machines()`.
    pub fn get(&self, task: usize, machine: usize) -> f64 {
        assert!(machine < self.machines, "machine index out of range");
        self.data[task * self.machines + machine]
    }

    /// The times of task `task` on every machine.
    ///
    /// # Panics
    /// When `task >= self.tasks()`.
    pub fn row(&self, task: usize) -> &[f64] {
        &self.data[task * self.machines..(task + 1) * self.machines]
    }

    /// Iterates over the rows (one slice per task).
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f64]> + '_ {
        self.data.chunks_exact(self.machines)
    }

    /// The row-major data: entry `(i, j)` is at `i * machines() + j`.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// A copy of the matrix as one `Vec` per task.
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        self.rows().map(<[f64]>::to_vec).collect()
    }

    /// Generates a Braun et al. (2001) matrix of the given class, deterministically from `seed`
    /// (a [`ChaCha8Rng`] seeded with [`SeedableRng::seed_from_u64`]).
    ///
    /// Draws every task's base time (row-major order of tasks), then every machine factor
    /// (row-major), multiplies, and finally applies the class's consistency (see the module docs).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `tasks` or `machines` when it is zero.
    pub fn braun(class: BraunClass, tasks: usize, machines: usize, seed: u64) -> Result<Self> {
        if tasks == 0 {
            return Err(Error::invalid("tasks", "at least one task is needed"));
        }
        if machines == 0 {
            return Err(Error::invalid("machines", "at least one machine is needed"));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let task_hi = class.task_heterogeneity.task_range_max();
        let machine_hi = class.machine_heterogeneity.machine_range_max();
        let base: Vec<f64> = (0..tasks).map(|_| rng.random_range(1.0..task_hi)).collect();
        let mut data = Vec::with_capacity(tasks.saturating_mul(machines));
        for b in &base {
            for _ in 0..machines {
                data.push(b * rng.random_range(1.0..machine_hi));
            }
        }
        for row in data.chunks_exact_mut(machines) {
            match class.consistency {
                Consistency::Inconsistent => {}
                Consistency::Consistent => row.sort_by(f64::total_cmp),
                Consistency::SemiConsistent => {
                    let mut even: Vec<f64> = row.iter().step_by(2).copied().collect();
                    even.sort_by(f64::total_cmp);
                    for (slot, value) in row.iter_mut().step_by(2).zip(even) {
                        *slot = value;
                    }
                }
            }
        }
        EtcMatrix::new(tasks, machines, data)
    }
}

/// Low or high heterogeneity, of the tasks or of the machines (Braun et al. 2001).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Heterogeneity {
    /// High: task base times `U(1, 3000)`, machine factors `U(1, 1000)`.
    Hi,
    /// Low: task base times `U(1, 100)`, machine factors `U(1, 10)`.
    Lo,
}

impl Heterogeneity {
    fn task_range_max(self) -> f64 {
        match self {
            Heterogeneity::Hi => 3000.0,
            Heterogeneity::Lo => 100.0,
        }
    }

    fn machine_range_max(self) -> f64 {
        match self {
            Heterogeneity::Hi => 1000.0,
            Heterogeneity::Lo => 10.0,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Heterogeneity::Hi => "hi",
            Heterogeneity::Lo => "lo",
        }
    }
}

/// How the machines' speed ranking varies from task to task (Braun et al. 2001).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Every row sorted ascending: a machine faster for one task is faster for all.
    Consistent,
    /// Rows left as drawn: no ranking is shared.
    Inconsistent,
    /// The even columns of every row sorted among themselves, the odd columns as drawn.
    SemiConsistent,
}

impl Consistency {
    fn label(self) -> &'static str {
        match self {
            Consistency::Consistent => "c",
            Consistency::Inconsistent => "i",
            Consistency::SemiConsistent => "s",
        }
    }
}

/// One of the 12 classes of the Braun et al. (2001) ETC benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BraunClass {
    /// Spread of the tasks' base times.
    pub task_heterogeneity: Heterogeneity,
    /// Spread of the per-(task, machine) factors.
    pub machine_heterogeneity: Heterogeneity,
    /// Shared (or not) machine ranking across tasks.
    pub consistency: Consistency,
}

impl BraunClass {
    /// The 12 classes, in Braun's order: consistency (consistent, inconsistent, semi-consistent),
    /// then task heterogeneity (hi, lo), then machine heterogeneity (hi, lo).
    pub fn all() -> [BraunClass; 12] {
        let mut out = [BraunClass {
            task_heterogeneity: Heterogeneity::Hi,
            machine_heterogeneity: Heterogeneity::Hi,
            consistency: Consistency::Consistent,
        }; 12];
        let mut k = 0;
        for consistency in [
            Consistency::Consistent,
            Consistency::Inconsistent,
            Consistency::SemiConsistent,
        ] {
            for task_heterogeneity in [Heterogeneity::Hi, Heterogeneity::Lo] {
                for machine_heterogeneity in [Heterogeneity::Hi, Heterogeneity::Lo] {
                    out[k] = BraunClass {
                        task_heterogeneity,
                        machine_heterogeneity,
                        consistency,
                    };
                    k += 1;
                }
            }
        }
        out
    }

    /// Braun's name for the class, e.g. `u_c_hihi` (uniform distribution, consistent, high task and
    /// high machine heterogeneity) or `u_s_lohi`.
    pub fn name(&self) -> String {
        format!(
            "u_{}_{}{}",
            self.consistency.label(),
            self.task_heterogeneity.label(),
            self.machine_heterogeneity.label()
        )
    }
}

impl fmt::Display for BraunClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_distinct_classes() {
        let all = BraunClass::all();
        let names: std::collections::BTreeSet<String> = all.iter().map(BraunClass::name).collect();
        assert_eq!(names.len(), 12);
        assert_eq!(all[0].name(), "u_c_hihi");
        assert_eq!(all[11].name(), "u_s_lolo");
    }

    #[test]
    fn braun_is_deterministic_and_in_range() {
        for class in BraunClass::all() {
            let a = EtcMatrix::braun(class, 64, 8, 7).unwrap();
            let b = EtcMatrix::braun(class, 64, 8, 7).unwrap();
            let c = EtcMatrix::braun(class, 64, 8, 8).unwrap();
            assert_eq!(a, b);
            assert_ne!(a, c);
            let max = class.task_heterogeneity.task_range_max()
                * class.machine_heterogeneity.machine_range_max();
            assert!(a.as_slice().iter().all(|&v| (1.0..max).contains(&v)));
            for row in a.rows() {
                match class.consistency {
                    Consistency::Consistent => assert!(row.windows(2).all(|w| w[0] <= w[1])),
                    Consistency::SemiConsistent => {
                        let even: Vec<f64> = row.iter().step_by(2).copied().collect();
                        assert!(even.windows(2).all(|w| w[0] <= w[1]));
                    }
                    Consistency::Inconsistent => {}
                }
            }
        }
    }

    #[test]
    fn json_round_trip_and_shape() {
        let m = EtcMatrix::from_rows(vec![vec![1.0, 2.0], vec![3.0, 4.5]]).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"etc":[[1.0,2.0],[3.0,4.5]]}"#);
        let back: EtcMatrix = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.get(1, 1), 4.5);
        assert_eq!(back.row(0), &[1.0, 2.0]);
    }

    #[test]
    fn validation_names_the_field() {
        let err = EtcMatrix::from_rows(vec![]).unwrap_err();
        assert_eq!(err.field(), Some("etc"));
        let err = EtcMatrix::from_rows(vec![vec![]]).unwrap_err();
        assert_eq!(err.field(), Some("etc[0]"));
        let err = EtcMatrix::from_rows(vec![vec![1.0, 2.0], vec![1.0]]).unwrap_err();
        assert_eq!(err.field(), Some("etc[1]"));
        let err = EtcMatrix::from_rows(vec![vec![1.0, 2.0], vec![1.0, 0.0]]).unwrap_err();
        assert_eq!(err.field(), Some("etc[1][1]"));
        let err = EtcMatrix::from_rows(vec![vec![f64::NAN]]).unwrap_err();
        assert_eq!(err.field(), Some("etc[0][0]"));
        let err = EtcMatrix::new(2, 2, vec![1.0; 3]).unwrap_err();
        assert_eq!(err.field(), Some("etc"));
        let err = serde_json::from_str::<EtcMatrix>(r#"{"etc":[[1.0],[-2.0]]}"#).unwrap_err();
        assert!(err.to_string().contains("etc[1][0]"), "{err}");
        let err = serde_json::from_str::<EtcMatrix>(r#"{"etc":[[1.0,2.0],[2.0]]}"#).unwrap_err();
        assert!(err.to_string().contains("etc[1]"), "{err}");
        assert!(EtcMatrix::braun(BraunClass::all()[0], 0, 3, 1).is_err());
    }
}
