//! Which drones the scheduler has (`[SCHEDULER] drones` and the per-drone keys) and which one a
//! new autoserv goes to: the least loaded relative to its maximum, never a disabled or down one.

use crate::config::{ConfigError, GlobalConfig};

/// One drone as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroneSpec {
    /// Host name (`localhost`: the scheduler's own process).
    pub name: String,
    /// SSH user (`<drone>_username`, default `root`).
    pub username: String,
    /// At most this many autoservs at once (`<drone>_max_processes`, else
    /// `max_processes_per_drone`, default 1000).
    pub max_processes: usize,
    /// `<drone>_disabled`: finishes its work and gets nothing new.
    pub disabled: bool,
}

impl DroneSpec {
    /// The in-process drone with the legacy default limit.
    pub fn localhost() -> DroneSpec {
        DroneSpec {
            name: "localhost".into(),
            username: "root".into(),
            max_processes: 1000,
            disabled: false,
        }
    }

    /// True for the drone inside the scheduler's process.
    pub fn is_local(&self) -> bool {
        self.name == "localhost"
    }
}

/// The drones of `[SCHEDULER]`: `localhost` alone when `drones` is not set. Bad values name
/// their file and line.
pub fn drone_specs(config: &GlobalConfig) -> Result<Vec<DroneSpec>, ConfigError> {
    let names = config
        .get_list("SCHEDULER", "drones")?
        .unwrap_or_else(|| vec!["localhost".into()]);
    let default_max = config
        .get_int_in(
            "SCHEDULER",
            "max_processes_per_drone",
            1,
            1_000_000,
            "a number of processes from 1 to 1000000",
        )?
        .unwrap_or(1000);
    let mut specs: Vec<DroneSpec> = Vec::new();
    for name in names {
        if specs.iter().any(|s| s.name == name) {
            continue;
        }
        let max = config
            .get_int_in(
                "SCHEDULER",
                &format!("{name}_max_processes"),
                0,
                1_000_000,
                "a number of processes from 0 to 1000000",
            )?
            .unwrap_or(default_max);
        specs.push(DroneSpec {
            username: config
                .get_str("SCHEDULER", &format!("{name}_username"))?
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "root".into()),
            disabled: config
                .get_bool("SCHEDULER", &format!("{name}_disabled"))?
                .unwrap_or(false),
            max_processes: usize::try_from(max).unwrap_or(0),
            name,
        });
    }
    Ok(specs)
}

/// A drone's load as the scheduler sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroneLoad {
    /// Autoservs running on it.
    pub running: usize,
    /// Its maximum.
    pub max_processes: usize,
    /// Gets nothing new.
    pub disabled: bool,
    /// Connected and answering.
    pub up: bool,
}

/// The drone a new autoserv goes to: among the up, enabled drones with room, the one with the
/// lowest running/maximum (ties: the first configured). `None` when none has room.
pub fn choose_drone(loads: &[DroneLoad]) -> Option<usize> {
    loads
        .iter()
        .enumerate()
        .filter(|(_, l)| l.up && !l.disabled && l.running < l.max_processes)
        // running/max compared without division: a/b < c/d  <=>  a*d < c*b.
        .min_by(|(ia, a), (ib, b)| {
            let left = a.running as u128 * b.max_processes as u128;
            let right = b.running as u128 * a.max_processes as u128;
            left.cmp(&right).then(ia.cmp(ib))
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(running: usize, max: usize) -> DroneLoad {
        DroneLoad {
            running,
            max_processes: max,
            disabled: false,
            up: true,
        }
    }

    #[test]
    fn the_least_loaded_relative_to_its_maximum_is_chosen() {
        // (loads, expected choice)
        let cases: Vec<(Vec<DroneLoad>, Option<usize>)> = vec![
            (vec![], None),
            (vec![load(0, 10)], Some(0)),
            (vec![load(5, 10), load(4, 10)], Some(1)),
            // 3/4 is more loaded than 5/10 although it runs fewer.
            (vec![load(3, 4), load(5, 10)], Some(1)),
            (vec![load(2, 10), load(2, 10)], Some(0)),
            (vec![load(10, 10), load(1, 1)], None),
            (vec![load(0, 0), load(0, 5)], Some(1)),
            (
                vec![
                    DroneLoad {
                        disabled: true,
                        ..load(0, 10)
                    },
                    load(9, 10),
                ],
                Some(1),
            ),
            (
                vec![
                    DroneLoad {
                        up: false,
                        ..load(0, 10)
                    },
                    load(9, 10),
                ],
                Some(1),
            ),
        ];
        for (loads, want) in cases {
            assert_eq!(choose_drone(&loads), want, "{loads:?}");
        }
    }

    #[test]
    fn drones_come_from_the_scheduler_section() {
        let dir = tempfile::tempdir().unwrap();
        let ini = dir.path().join("global_config.ini");
        std::fs::write(
            &ini,
            "[SCHEDULER]\ndrones: localhost, d1 ,d2,d1\nmax_processes_per_drone: 7\n\
             d1_max_processes: 3\nd1_username: lab\nd2_disabled: yes\n",
        )
        .unwrap();
        let gc = GlobalConfig::load(&ini, None).unwrap();
        let specs = drone_specs(&gc).unwrap();
        let got: Vec<(&str, &str, usize, bool)> = specs
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.username.as_str(),
                    s.max_processes,
                    s.disabled,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("localhost", "root", 7, false),
                ("d1", "lab", 3, false),
                ("d2", "root", 7, true)
            ]
        );
        std::fs::write(&ini, "[SCHEDULER]\ndrones: d1\nd1_max_processes: many\n").unwrap();
        let gc = GlobalConfig::load(&ini, None).unwrap();
        let err = drone_specs(&gc).unwrap_err().to_string();
        assert!(
            err.contains("global_config.ini") && err.contains("d1_max_processes"),
            "{err}"
        );
        let none = dir.path().join("empty.ini");
        std::fs::write(&none, "").unwrap();
        let gc = GlobalConfig::load(&none, None).unwrap();
        assert_eq!(drone_specs(&gc).unwrap(), vec![DroneSpec::localhost()]);
    }
}
