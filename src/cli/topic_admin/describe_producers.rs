//! `topic-admin describe-producers`: kafka-transactions.sh describe-producers.

use serde_json::json;

use crate::cli::OutputFormat;
use crate::client::producers::ActiveProducer;

/// Kafka's tool's columns, or JSON.
pub fn render(producers: &[ActiveProducer], output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!("{}\n", json!(producers)),
        OutputFormat::Table => {
            let mut table = crate::cli::table(&[
                "ProducerId",
                "ProducerEpoch",
                "LatestCoordinatorEpoch",
                "LastSequence",
                "LastTimestamp",
                "CurrentTransactionStartOffset",
            ]);
            for p in producers {
                table.add_row(vec![
                    p.producer_id.to_string(),
                    p.producer_epoch.to_string(),
                    p.latest_coordinator_epoch.to_string(),
                    p.last_sequence.to_string(),
                    p.last_timestamp.to_string(),
                    if p.current_transaction_start_offset < 0 {
                        "None".to_string()
                    } else {
                        p.current_transaction_start_offset.to_string()
                    },
                ]);
            }
            crate::cli::table_text(&table)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_open_transaction_is_none() {
        let producer = |start| ActiveProducer {
            producer_id: 7,
            producer_epoch: 0,
            latest_coordinator_epoch: -1,
            last_sequence: 4,
            last_timestamp: 1000,
            current_transaction_start_offset: start,
        };
        let text = render(&[producer(-1), producer(12)], OutputFormat::Table);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[0], ["7", "0", "-1", "4", "1000", "None"]);
        assert_eq!(rows[1][5], "12");
    }
}
