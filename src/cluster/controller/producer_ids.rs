//! Producer id blocks, as Kafka's ProducerIdControlManager hands them out.

use kafka_protocol::error::ResponseError;

use super::error::ControllerError;
use crate::cluster::metadata::MetadataImage;

/// Kafka's AllocateProducerIds: reserves `count` ids; the first of them.
pub(super) fn allocate(image: &mut MetadataImage, count: i64) -> Result<i64, ControllerError> {
    let first = image.next_producer_id;
    image.next_producer_id = first.checked_add(count).ok_or_else(|| {
        ControllerError::new(
            ResponseError::UnknownServerError,
            "producer ids are exhausted",
        )
    })?;
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_each_other_and_never_wrap() {
        let mut image = MetadataImage::default();
        assert_eq!(allocate(&mut image, 1000), Ok(0));
        assert_eq!(allocate(&mut image, 1000), Ok(1000));
        image.next_producer_id = i64::MAX - 10;
        let exhausted = allocate(&mut image, 1000).unwrap_err();
        assert_eq!(exhausted.code, ResponseError::UnknownServerError);
        assert_eq!(image.next_producer_id, i64::MAX - 10);
    }
}
