//! Kafka framing: a 4-byte big-endian size, then that many bytes.
//!
//! Memory follows the bytes that arrived, not the sizes announced: a frame's
//! buffer starts small and doubles as its bytes come in, and a connection
//! waiting for its next request holds no read buffer at all.

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::activity::Activity;
use super::transport::ReadSide;

/// Read size while looking for the next frame: small pipelined requests
/// arrive several to a read.
const READ_CHUNK: usize = 64 * 1024;

/// The most a frame's buffer holds before its bytes arrive.
const FIRST_FRAME_CAPACITY: usize = 64 * 1024;

/// Read size of a TLS connection waiting for its next request: TLS has
/// no way to wait for bytes without a buffer to decrypt them into, so a
/// quiet TLS connection holds this much (and rustls' own record buffer).
const TLS_IDLE_CHUNK: usize = 4 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {size} bytes is over socket.request.max.bytes ({max})")]
    TooLarge { size: i64, max: usize },
    #[error("negative frame size {0}")]
    Negative(i32),
    #[error("connection closed mid-frame")]
    Truncated,
    #[error("cannot allocate {0} bytes for a frame")]
    OutOfMemory(usize),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// One request frame, with its share of `queued.max.request.bytes` (held
/// until the request has been handled).
pub struct Frame {
    pub bytes: Bytes,
    pub permit: Option<OwnedSemaphorePermit>,
}

/// Reads request frames off one connection.
pub struct FrameReader {
    socket: ReadSide,
    /// Bytes read but not yet returned in a frame. Only ever the start of
    /// frames, and never more than one read's worth: a frame longer than
    /// what is here is read into its own buffer.
    buffered: BytesMut,
    max: usize,
    pool: Option<Arc<Semaphore>>,
    activity: Arc<Activity>,
}

impl FrameReader {
    pub(crate) fn new(
        socket: ReadSide,
        max: usize,
        pool: Option<Arc<Semaphore>>,
        activity: Arc<Activity>,
    ) -> FrameReader {
        FrameReader {
            socket,
            buffered: BytesMut::new(),
            max,
            pool,
            activity,
        }
    }

    /// Changes the largest frame accepted from now on (smaller before a
    /// SASL client has authenticated).
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// The next frame; `Ok(None)` is a clean close between frames. The size
    /// is checked before anything is allocated for the frame.
    pub async fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        while self.buffered.len() < 4 {
            if self.fill().await? == 0 {
                return if self.buffered.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            }
        }
        let size = self.buffered.get_i32();
        if size < 0 {
            return Err(FrameError::Negative(size));
        }
        let size = size as usize;
        if size > self.max {
            return Err(FrameError::TooLarge {
                size: size as i64,
                max: self.max,
            });
        }
        let permit = match &self.pool {
            Some(pool) => {
                // Waiting for other requests to finish is the broker's delay.
                let _busy = self.activity.busy();
                let permits = u32::try_from(size).expect("a frame size is an i32");
                Some(
                    pool.clone()
                        .acquire_many_owned(permits)
                        .await
                        .expect("the request pool is never closed"),
                )
            }
            None => None,
        };
        let bytes = if self.buffered.len() >= size {
            // Copied out so that a request kept for long (a Fetch long
            // poll) does not keep the whole read buffer.
            let bytes = Bytes::copy_from_slice(&self.buffered[..size]);
            self.buffered.advance(size);
            bytes
        } else {
            self.read_rest(size).await?
        };
        Ok(Some(Frame { bytes, permit }))
    }

    /// Reads a frame of `size` bytes, of which `buffered` holds the start
    /// (and nothing past it), straight into a buffer of its own that grows
    /// with what arrives.
    async fn read_rest(&mut self, size: usize) -> Result<Bytes, FrameError> {
        let mut frame = Vec::new();
        reserve(
            &mut frame,
            size.min(self.buffered.len().max(FIRST_FRAME_CAPACITY)),
        )?;
        frame.extend_from_slice(&self.buffered);
        self.buffered = BytesMut::new();
        while frame.len() < size {
            if frame.len() == frame.capacity() {
                let more = (size - frame.len()).min(frame.len());
                reserve(&mut frame, more)?;
            }
            let room = (size - frame.len()).min(frame.capacity() - frame.len());
            self.socket.expect(size - frame.len());
            let read = self.socket.read_buf(&mut (&mut frame).limit(room)).await;
            if !matches!(read, Ok(n) if n > 0) {
                self.socket.expect(0);
                return Err(read.map_or_else(FrameError::from, |_| FrameError::Truncated));
            }
            self.activity.stamp();
        }
        self.socket.expect(0);
        Ok(Bytes::from(frame))
    }

    /// Reads what the socket has into `buffered`; 0 at end of stream.
    async fn fill(&mut self) -> Result<usize, FrameError> {
        let socket = match &mut self.socket {
            ReadSide::Plain(socket) => socket,
            ReadSide::Tls(..) | ReadSide::Boxed(..) => {
                if self.buffered.capacity() - self.buffered.len() < 4 {
                    let chunk = if self.buffered.is_empty() {
                        TLS_IDLE_CHUNK
                    } else {
                        READ_CHUNK
                    };
                    self.buffered.reserve(chunk);
                }
                let n = self.socket.read_buf(&mut self.buffered).await?;
                if n > 0 {
                    self.activity.stamp();
                }
                return Ok(n);
            }
        };
        loop {
            if self.buffered.capacity() - self.buffered.len() < 4 {
                self.buffered.reserve(READ_CHUNK);
            }
            match socket.try_read_buf(&mut self.buffered) {
                Ok(n) => {
                    if n > 0 {
                        self.activity.stamp();
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    // A quiet client holds at most the start of a size field.
                    self.buffered = BytesMut::from(&self.buffered[..]);
                    socket.readable().await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn reserve(frame: &mut Vec<u8>, additional: usize) -> Result<(), FrameError> {
    frame
        .try_reserve_exact(additional)
        .map_err(|_| FrameError::OutOfMemory(frame.len() + additional))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    async fn pair() -> (FrameReader, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (read_half, _write_half) = super::super::transport::split_plain(server);
        let reader = FrameReader::new(read_half, 1 << 20, None, Activity::new());
        (reader, client)
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    async fn next(reader: &mut FrameReader) -> Bytes {
        reader.next_frame().await.unwrap().unwrap().bytes
    }

    #[tokio::test]
    async fn frames_come_out_whole_however_their_bytes_arrive() {
        let (mut reader, mut client) = pair().await;
        let big: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let mut wire = framed(b"first");
        wire.extend(framed(&big));
        wire.extend(framed(b"third"));
        let writer = tokio::spawn(async move {
            // A byte at a time across the first size field, then in uneven pieces.
            for b in &wire[..6] {
                client.write_all(&[*b]).await.unwrap();
                client.flush().await.unwrap();
                tokio::task::yield_now().await;
            }
            for chunk in wire[6..].chunks(70_001) {
                client.write_all(chunk).await.unwrap();
            }
            client
        });
        assert_eq!(&next(&mut reader).await[..], b"first");
        assert_eq!(next(&mut reader).await, big);
        assert_eq!(&next(&mut reader).await[..], b"third");
        let client = writer.await.unwrap();
        // Waiting for a frame that does not come, it holds no buffer.
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), reader.next_frame()).await;
        assert!(waiting.is_err(), "nothing more was sent");
        assert_eq!(reader.buffered.capacity(), 0);
        drop(client);
        assert!(reader.next_frame().await.unwrap().is_none());
    }
}
