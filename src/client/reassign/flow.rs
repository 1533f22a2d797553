//! Minimum-cost flow by successive shortest paths (Bellman-Ford with a
//! queue, since residual edges carry negative costs). Placing replicas
//! and leaders is a transportation problem: partitions send units to
//! brokers; an edge's cost is whether the unit moves, and capacities hold
//! each broker to its share.

use std::collections::VecDeque;

pub struct Network {
    /// Edges in pairs: edge `e` and its residual twin `e ^ 1`.
    edges: Vec<Edge>,
    outgoing: Vec<Vec<usize>>,
}

struct Edge {
    to: usize,
    /// Capacity left; the twin's is the flow pushed.
    capacity: i64,
    cost: i64,
}

impl Network {
    pub fn new(nodes: usize) -> Network {
        Network {
            edges: Vec::new(),
            outgoing: vec![Vec::new(); nodes],
        }
    }

    /// Adds an edge and returns its id, for `push` and `flow`.
    pub fn add_edge(&mut self, from: usize, to: usize, capacity: i64, cost: i64) -> usize {
        let id = self.edges.len();
        self.edges.push(Edge { to, capacity, cost });
        self.edges.push(Edge {
            to: from,
            capacity: 0,
            cost: -cost,
        });
        self.outgoing[from].push(id);
        self.outgoing[to].push(id + 1);
        id
    }

    /// Sends `amount` along an edge directly. The caller keeps the flow
    /// balanced and only pre-pushes along cheapest edges, so that no
    /// negative cycle is left for the shortest paths to miss.
    pub fn push(&mut self, edge: usize, amount: i64) {
        self.edges[edge].capacity -= amount;
        self.edges[edge ^ 1].capacity += amount;
    }

    pub fn flow(&self, edge: usize) -> i64 {
        self.edges[edge ^ 1].capacity
    }

    /// Sends as much more flow from `source` to `sink` as fits, each unit
    /// along the cheapest path left, so the total cost is the least for
    /// that much flow.
    pub fn saturate(&mut self, source: usize, sink: usize) {
        let n = self.outgoing.len();
        loop {
            let mut distance = vec![i64::MAX; n];
            let mut via = vec![usize::MAX; n];
            let mut queued = vec![false; n];
            let mut queue = VecDeque::from([source]);
            distance[source] = 0;
            while let Some(node) = queue.pop_front() {
                queued[node] = false;
                for &e in &self.outgoing[node] {
                    let edge = &self.edges[e];
                    let reached = distance[node] + edge.cost;
                    if edge.capacity > 0 && reached < distance[edge.to] {
                        distance[edge.to] = reached;
                        via[edge.to] = e;
                        if !queued[edge.to] {
                            queued[edge.to] = true;
                            queue.push_back(edge.to);
                        }
                    }
                }
            }
            if distance[sink] == i64::MAX {
                return;
            }
            let mut amount = i64::MAX;
            let mut node = sink;
            while node != source {
                let e = via[node];
                amount = amount.min(self.edges[e].capacity);
                node = self.edges[e ^ 1].to;
            }
            let mut node = sink;
            while node != source {
                let e = via[node];
                self.push(e, amount);
                node = self.edges[e ^ 1].to;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cheapest_way_to_send_everything() {
        // Two units from 0 to 4: via 2 costs 1 but only one fits; via 3
        // costs 5.
        let mut net = Network::new(5);
        net.add_edge(0, 1, 2, 0);
        let cheap = net.add_edge(1, 2, 1, 1);
        let dear = net.add_edge(1, 3, 5, 5);
        net.add_edge(2, 4, 5, 0);
        net.add_edge(3, 4, 5, 0);
        net.saturate(0, 4);
        assert_eq!((net.flow(cheap), net.flow(dear)), (1, 1));
    }

    #[test]
    fn a_later_path_may_undo_an_earlier_choice() {
        // Sources 1 and 2 each send one unit to sinks 3 or 4, through a
        // single super-source 0 and super-sink 5. Pre-pushing 1->3 (free)
        // forces 2 to pay for 4 unless 1 reroutes; rerouting is dearer.
        let mut net = Network::new(6);
        let s1 = net.add_edge(0, 1, 1, 0);
        net.add_edge(0, 2, 1, 0);
        let e13 = net.add_edge(1, 3, 1, 0);
        let e14 = net.add_edge(1, 4, 1, 1);
        let e23 = net.add_edge(2, 3, 1, 0);
        let e24 = net.add_edge(2, 4, 1, 3);
        let t3 = net.add_edge(3, 5, 1, 0);
        net.add_edge(4, 5, 1, 0);
        for e in [s1, e13, t3] {
            net.push(e, 1);
        }
        net.saturate(0, 5);
        // 1->4 (1) + 2->3 (0) beats 1->3 (0) + 2->4 (3).
        assert_eq!(
            (net.flow(e13), net.flow(e14), net.flow(e23), net.flow(e24)),
            (0, 1, 1, 0)
        );
    }
}
