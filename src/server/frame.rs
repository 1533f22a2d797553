//! Kafka framing: a 4-byte big-endian size, then that many bytes.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {size} bytes is over socket.request.max.bytes ({max})")]
    TooLarge { size: i64, max: usize },
    #[error("negative frame size {0}")]
    Negative(i32),
    #[error("connection closed mid-frame")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one frame; `Ok(None)` is a clean close between frames. The size is
/// checked before any buffer is allocated, so a hostile size cannot exhaust memory.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Bytes>, FrameError> {
    let mut size_buf = [0u8; 4];
    let first = reader.read(&mut size_buf).await?;
    if first == 0 {
        return Ok(None);
    }
    if first < 4 {
        reader
            .read_exact(&mut size_buf[first..])
            .await
            .map_err(|_| FrameError::Truncated)?;
    }
    let size = i32::from_be_bytes(size_buf);
    if size < 0 {
        return Err(FrameError::Negative(size));
    }
    let size = size as usize;
    if size > max {
        return Err(FrameError::TooLarge {
            size: size as i64,
            max,
        });
    }
    // Read into spare capacity: zeroing a buffer only to overwrite it cost
    // as much as a copy of every produced byte.
    let mut buf = BytesMut::with_capacity(size);
    while buf.len() < size {
        let wanted = (size - buf.len()) as u64;
        if (&mut *reader).take(wanted).read_buf(&mut buf).await? == 0 {
            return Err(FrameError::Truncated);
        }
    }
    Ok(Some(buf.freeze()))
}
