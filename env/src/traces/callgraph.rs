//! Alibaba cluster-trace-microservices-v2022 call graphs (Luo et al., SoCC'21/'22): one row per
//! RPC, `traceid` naming the user request and the dotted `rpcid` its place in the request's call
//! tree (`0` = the user's call, `0.1` its first callee, `0.1.2` that one's second, ...). Columns
//! are found by name (the public sample's order differs from the official one): `traceid`,
//! `rpcid`, `um` (caller), `dm` (callee), `rt` (response time, ms; negative on the callee's
//! copy of a call); others are ignored.
//!
//! Real traces are not clean trees; what [`rebuild`] does with each defect, and counts in
//! [`Cleaning`]:
//! - **Duplicated rpcid** in a trace: the official trace logs each call twice, from the caller
//!   (rt > 0) and from the callee (rt < 0). The caller's copy is kept; without one, the first
//!   copy with its |rt|. Further copies are dropped.
//! - **Unidentified service** (`UNKNOWN`, `UNAVAILABLE`, `USER`, `(?)`, empty): a call to one
//!   cannot be placed, so it is dropped; its descendants then lose their parent (next rule). A
//!   call from one starts a tree at its callee, entered by the user.
//! - **Missing parent** (the parent rpcid has no row: the public sample keeps only `rpc` calls,
//!   so http/mq parents are gone, and traces are cut at the file's edge): the call's caller
//!   stands in for the missing parent call, with no work of its own, under the nearest
//!   recorded ancestor, or as the root of a tree of its own when there is none. Siblings with
//!   the same caller share the stand-in, so every recorded caller-callee edge is kept; the
//!   stand-in's own edge from the ancestor is assumed. With an unidentified caller, the call
//!   hangs under the nearest recorded ancestor, or starts a tree.
//! - **Mismatched parent** (the parent call's callee is not the call's caller: 9 calls of the
//!   sample): the caller stands in under the parent call, as above.
//!
//! Each call's own work is its rt minus its children's (calls made one after another; at least
//! 0); a stand-in's rt is its children's.

use super::table::{number, read_rows};
use crate::error::EnvError;
use std::collections::HashMap;
use std::io::Read;

/// Deepest rpcid accepted (components); the sample's deepest has 9.
pub const MAX_DEPTH: usize = 64;
/// Most calls in one trace; the sample's largest has 41.
pub const MAX_CALLS_PER_TRACE: usize = 100_000;
/// Longest response time accepted (ms): an hour.
pub const MAX_RT_MS: f64 = 3_600_000.0;

/// The public sample of the v2022 trace (first 3 minutes, `rpc` calls; `env/data/README.md`).
pub const BUILTIN_SAMPLE: &[u8] =
    include_bytes!("../../data/alibaba_microservices_v2022_callgraph.csv");
/// How [`BUILTIN_SAMPLE`] is named in configs and messages.
pub const BUILTIN_NAME: &str = "builtin:alibaba_microservices_v2022";

/// Names that stand for "no identified service" in the trace.
const PLACEHOLDERS: [&str; 5] = ["UNKNOWN", "UNAVAILABLE", "USER", "(?)", ""];

/// One row of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    pub line: usize,
    pub trace: String,
    pub rpcid: Vec<u64>,
    pub caller: String,
    pub callee: String,
    pub rt_ms: f64,
}

/// One call of a rebuilt tree: the callee's service, its parent call (None at the root), and
/// the callee's own work (ms), its children excluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub service: usize,
    pub parent: Option<usize>,
    pub own_ms: f64,
}

/// A request's call tree: `calls[0]` is the root (the service the user calls), parents come
/// before their children.
#[derive(Debug, Clone, PartialEq)]
pub struct CallTree {
    pub trace: String,
    pub calls: Vec<Call>,
}

/// What [`rebuild`] did to the rows (see the module's rules).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaning {
    pub rows: usize,
    pub traces: usize,
    pub duplicates_dropped: usize,
    pub unidentified_callee_dropped: usize,
    /// Calls whose parent rpcid has no (kept) row.
    pub missing_parents: usize,
    /// Calls whose parent call's callee is not their caller.
    pub caller_mismatches: usize,
}

/// Services (index = position) and the call trees over them.
#[derive(Debug, Clone, PartialEq)]
pub struct CallGraphs {
    pub services: Vec<String>,
    pub trees: Vec<CallTree>,
    pub cleaning: Cleaning,
}

fn parse_rpcid(text: &str) -> Result<Vec<u64>, String> {
    let parts: Vec<u64> = text
        .split('.')
        .map(|p| number::<u64>(p, "rpcid component"))
        .collect::<Result<_, _>>()?;
    if parts.len() > MAX_DEPTH {
        return Err(format!(
            "rpcid has {} components: at most {MAX_DEPTH}",
            parts.len()
        ));
    }
    Ok(parts)
}

/// Reads the rows of a call-graph CSV (any column order; extra columns ignored).
pub fn read_rows_of(reader: impl Read, source: &str) -> Result<Vec<CallRow>, EnvError> {
    let columns = ["traceid", "rpcid", "um", "dm", "rt"];
    read_rows(reader, source, &columns, |f, line| {
        let finite = |value: &str, column: &str| {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{column} = `{value}` is not a finite number"))
        };
        let rt_ms = finite(f[4], "rt")?;
        if rt_ms.abs() > MAX_RT_MS {
            return Err(format!("rt = {rt_ms}: at most {MAX_RT_MS} ms either way"));
        }
        if f[0].is_empty() {
            return Err("traceid is empty".into());
        }
        Ok(CallRow {
            line,
            trace: f[0].to_string(),
            rpcid: parse_rpcid(f[1])?,
            caller: f[2].to_string(),
            callee: f[3].to_string(),
            rt_ms,
        })
    })
}

/// Reads a call-graph CSV and rebuilds its call trees.
pub fn read(reader: impl Read, source: &str) -> Result<CallGraphs, EnvError> {
    rebuild(read_rows_of(reader, source)?, source)
}

fn identified(name: &str) -> bool {
    !PLACEHOLDERS.contains(&name)
}

/// Rebuilds every trace's call trees from its rows (traces in order of first appearance).
pub fn rebuild(rows: Vec<CallRow>, source: &str) -> Result<CallGraphs, EnvError> {
    let mut cleaning = Cleaning {
        rows: rows.len(),
        ..Cleaning::default()
    };
    let mut traces: Vec<(String, Vec<CallRow>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let slot = *index.entry(row.trace.clone()).or_insert_with(|| {
            traces.push((row.trace.clone(), Vec::new()));
            traces.len() - 1
        });
        let calls = &mut traces[slot].1;
        if calls.len() == MAX_CALLS_PER_TRACE {
            return Err(EnvError::data(
                source,
                format!(
                    "line {}: trace {} has more than {MAX_CALLS_PER_TRACE} calls",
                    row.line, row.trace
                ),
            ));
        }
        calls.push(row);
    }
    cleaning.traces = traces.len();
    let mut services = ServiceNames::default();
    let mut trees = Vec::new();
    for (trace, rows) in traces {
        let rows = deduplicate(rows, &mut cleaning);
        trees.extend(trees_of(&trace, &rows, &mut services, &mut cleaning));
    }
    Ok(CallGraphs {
        services: services.names,
        trees,
        cleaning,
    })
}

#[derive(Default)]
struct ServiceNames {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl ServiceNames {
    fn of(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}

/// One row per rpcid (the caller's copy first), sorted by rpcid so parents precede children.
fn deduplicate(mut rows: Vec<CallRow>, cleaning: &mut Cleaning) -> Vec<CallRow> {
    // Stable: among copies of an rpcid, caller copies (rt >= 0) first, then file order.
    rows.sort_by(|a, b| {
        a.rpcid
            .cmp(&b.rpcid)
            .then((a.rt_ms < 0.0).cmp(&(b.rt_ms < 0.0)))
    });
    let before = rows.len();
    rows.dedup_by(|later, first| later.rpcid == first.rpcid);
    cleaning.duplicates_dropped += before - rows.len();
    for row in &mut rows {
        row.rt_ms = row.rt_ms.abs();
    }
    rows
}

/// The trees of one trace from its deduplicated rows, sorted by rpcid (parents first).
fn trees_of(
    trace: &str,
    rows: &[CallRow],
    services: &mut ServiceNames,
    cleaning: &mut Cleaning,
) -> Vec<CallTree> {
    // Per tree its calls and their response times (NaN for a stand-in caller, whose time is
    // its children's); the (tree, call) of each placed rpcid.
    let mut trees: Vec<(Vec<Call>, Vec<f64>)> = Vec::new();
    let mut placed: HashMap<&[u64], (usize, usize)> = HashMap::new();
    let add = |trees: &mut Vec<(Vec<Call>, Vec<f64>)>, parent, service, rt| match parent {
        Some((tree, call)) => {
            let (calls, rts): &mut (Vec<Call>, Vec<f64>) = &mut trees[tree];
            calls.push(Call {
                service,
                parent: Some(call),
                own_ms: 0.0,
            });
            rts.push(rt);
            (tree, calls.len() - 1)
        }
        None => {
            let root = Call {
                service,
                parent: None,
                own_ms: 0.0,
            };
            trees.push((vec![root], vec![rt]));
            (trees.len() - 1, 0)
        }
    };
    // Stand-ins by (missing or mismatched parent rpcid, caller), shared by siblings.
    let mut stand_ins: HashMap<(&[u64], &str), (usize, usize)> = HashMap::new();
    for row in rows {
        if !identified(&row.callee) {
            cleaning.unidentified_callee_dropped += 1;
            continue;
        }
        let parent_id = &row.rpcid[..row.rpcid.len().saturating_sub(1)];
        let recorded = placed.get(parent_id).copied();
        let anchor = recorded.or_else(|| {
            (1..parent_id.len())
                .rev()
                .find_map(|n| placed.get(&row.rpcid[..n]).copied())
        });
        let parent_service = recorded.map(|(tree, call)| trees[tree].0[call].service);
        let caller = identified(&row.caller).then(|| services.of(&row.caller));
        if recorded.is_none() && !parent_id.is_empty() {
            cleaning.missing_parents += 1;
        }
        let needs_stand_in = match (recorded, caller) {
            (Some(_), Some(c)) => parent_service != Some(c),
            (None, Some(_)) => !parent_id.is_empty(),
            (_, None) => false,
        };
        cleaning.caller_mismatches += usize::from(recorded.is_some() && needs_stand_in);
        let parent = match caller {
            Some(c) if needs_stand_in => Some(
                *stand_ins
                    .entry((parent_id, row.caller.as_str()))
                    .or_insert_with(|| add(&mut trees, anchor, c, f64::NAN)),
            ),
            _ => anchor,
        };
        let at = add(&mut trees, parent, services.of(&row.callee), row.rt_ms);
        placed.insert(&row.rpcid, at);
    }
    trees
        .into_iter()
        .map(|(mut calls, mut rts)| {
            // Children follow their parents: one backward pass sums each call's children.
            let mut children_ms = vec![0.0; rts.len()];
            for k in (0..calls.len()).rev() {
                if rts[k].is_nan() {
                    rts[k] = children_ms[k];
                }
                calls[k].own_ms = (rts[k] - children_ms[k]).max(0.0);
                if let Some(p) = calls[k].parent {
                    children_ms[p] += rts[k];
                }
            }
            CallTree {
                trace: trace.to_string(),
                calls,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "row_in_trace,timestamp,traceid,service,rpcid,rpctype,um,uminstanceid,interface,dm,dminstanceid,rt\r\n";

    fn graphs(rows: &str) -> CallGraphs {
        read(format!("{HEADER}{rows}").as_bytes(), "calls.csv").unwrap()
    }

    fn names(g: &CallGraphs, tree: &CallTree) -> Vec<(String, Option<usize>, f64)> {
        tree.calls
            .iter()
            .map(|c| (g.services[c.service].clone(), c.parent, c.own_ms))
            .collect()
    }

    #[test]
    fn a_clean_trace_becomes_one_tree_with_own_times() {
        let g = graphs(
            "0,5,T1,S1,0,rpc,USER,USER,i,A,A_POD_1,10.0\r\n\
             1,6,T1,S1,0.1,rpc,A,A_POD_1,i,B,B_POD_1,4.0\r\n\
             2,7,T1,S1,0.2,rpc,A,A_POD_1,i,C,C_POD_1,3.0\r\n\
             3,8,T1,S1,0.1.1,rpc,B,B_POD_1,i,C,C_POD_1,1.0\r\n",
        );
        assert_eq!(g.trees.len(), 1);
        assert_eq!(
            names(&g, &g.trees[0]),
            vec![
                ("A".into(), None, 3.0),
                ("B".into(), Some(0), 3.0),
                ("C".into(), Some(1), 1.0),
                ("C".into(), Some(0), 3.0),
            ]
        );
        assert_eq!(g.cleaning.traces, 1);
        assert_eq!(g.cleaning.duplicates_dropped, 0);
    }

    #[test]
    fn defects_are_repaired_by_the_documented_rules() {
        let g = graphs(
            // T1: the user's call is to an unidentified service; the callee's copy of 0.1
            // (rt < 0) comes first; 0.1.5.2's parent 0.1.5 is missing.
            "0,5,T1,S1,0,rpc,USER,USER,i,USER,x,9.0\r\n\
             1,6,T1,S1,0.1,rpc,A,A_POD_1,i,B,B_POD_1,-4.0\r\n\
             2,6,T1,S1,0.1,rpc,A,A_POD_1,i,B,B_POD_1,5.0\r\n\
             3,8,T1,S1,0.1.5.2,rpc,B,B_POD_1,i,C,C_POD_1,2.0\r\n\
             4,9,T1,S1,0.1.3,rpc,B,B_POD_1,i,UNKNOWN,UNKNOWN,1.0\r\n\
             0,9,T2,S2,0.3,rpc,(?),UNKNOWN_POD_1,i,D,D_POD_1,2.0\r\n\
             0,9,T3,S3,0,rpc,USER,USER,i,E,E_POD_1,9.0\r\n\
             1,9,T3,S3,0.1,rpc,X,X_POD_1,i,F,F_POD_1,3.0\r\n\
             2,9,T3,S3,0.2,rpc,X,X_POD_1,i,G,G_POD_1,1.0\r\n",
        );
        let c = &g.cleaning;
        assert_eq!((c.rows, c.traces, c.duplicates_dropped), (9, 3, 1));
        assert_eq!((c.unidentified_callee_dropped, c.missing_parents), (2, 3));
        assert_eq!(c.caller_mismatches, 2);
        assert_eq!(g.trees.len(), 3);
        // T1: 0's callee is unidentified, so 0.1's caller A stands in for it at the root; 0.1.5
        // is missing, so 0.1.5.2's caller B stands in for it under 0.1.
        assert_eq!(
            names(&g, &g.trees[0]),
            vec![
                ("A".into(), None, 0.0),
                ("B".into(), Some(0), 3.0),
                ("B".into(), Some(1), 0.0),
                ("C".into(), Some(2), 2.0),
            ]
        );
        // T2: a call from an unidentified caller starts at its callee.
        assert_eq!(names(&g, &g.trees[1]), vec![("D".into(), None, 2.0)]);
        // T3: E's callees are called by X: X stands in under E, shared by both calls.
        assert_eq!(
            names(&g, &g.trees[2]),
            vec![
                ("E".into(), None, 5.0),
                ("X".into(), Some(0), 0.0),
                ("F".into(), Some(1), 3.0),
                ("G".into(), Some(1), 1.0),
            ]
        );
    }

    #[test]
    fn the_builtin_sample_rebuilds() {
        let g = read(BUILTIN_SAMPLE, BUILTIN_NAME).unwrap();
        // 218 calls to UNKNOWN and 19 user calls to USER; 62 % of rows miss their parent.
        let expected = Cleaning {
            rows: 2787,
            traces: 1415,
            duplicates_dropped: 0,
            unidentified_callee_dropped: 237,
            missing_parents: 1742,
            caller_mismatches: 9,
        };
        assert_eq!(g.cleaning, expected);
        assert_eq!((g.services.len(), g.trees.len()), (768, 1433));
        for tree in &g.trees {
            assert!(tree.calls[0].parent.is_none());
            assert!(
                tree.calls
                    .iter()
                    .enumerate()
                    .skip(1)
                    .all(|(k, c)| c.parent.is_some_and(|p| p < k))
            );
            assert!(tree.calls.iter().all(
                |c| c.own_ms >= 0.0 && !PLACEHOLDERS.contains(&g.services[c.service].as_str())
            ));
        }
    }

    #[test]
    fn bad_rows_are_named() {
        let err = |rows: &str| {
            read(format!("{HEADER}{rows}").as_bytes(), "calls.csv")
                .unwrap_err()
                .to_string()
        };
        assert!(
            err("0,5,T1,S1,0.x,rpc,A,a,i,B,b,1.0\n").contains("line 2: rpcid component = `x`"),
            "{}",
            err("0,5,T1,S1,0.x,rpc,A,a,i,B,b,1.0\n")
        );
        assert!(err("0,5,T1,S1,0,rpc,A,a,i,B,b,NaN\n").contains("line 2: rt = `NaN`"));
        assert!(err("0,5,,S1,0,rpc,A,a,i,B,b,1\n").contains("traceid is empty"));
        let deep = vec!["1"; MAX_DEPTH + 1].join(".");
        assert!(err(&format!("0,5,T,S,{deep},rpc,A,a,i,B,b,1\n")).contains("at most 64"));
        let missing = read("traceid,rpcid\nT,0\n".as_bytes(), "calls.csv").unwrap_err();
        assert!(missing.to_string().contains("no column `um`"), "{missing}");
    }
}
