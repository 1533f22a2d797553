//! A connection's two halves, plain TCP or TLS. An enum rather than a
//! generic or a boxed stream: the plaintext path keeps its direct socket
//! reads (no read buffer while idle) and pays one branch per call. The
//! boxed variant is for the few admin clients the metadata quorum's
//! listener hands over (KIP-919), whose stream it has already set up.

use std::io::IoSlice;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::cluster::broker_client::Stream;

/// What one read of a TLS connection's socket asks for: four maximum-size
/// TLS records.
const TLS_SOCKET_READ: usize = 4 * (16 * 1024 + 256);

/// The most plaintext rustls can hold between the socket and the frame
/// reader: one partial record's ciphertext in its deframer (at most 18 KiB)
/// and the plaintext of what it last decrypted (no more than that).
const RUSTLS_HELD: usize = 64 * 1024;

/// A receive low-water mark below this is not worth a system call.
const MIN_LOW_WATER: usize = 32 * 1024;

/// The largest receive low-water mark asked for; the kernel grows the
/// socket's receive buffer to hold it.
const MAX_LOW_WATER: usize = 512 * 1024;

/// The socket under rustls. rustls grows its reads 4 KiB at a time, which
/// made a large produce request over TLS up to four system calls per 16
/// KiB record; this reads the socket in large chunks and hands rustls its
/// share from memory. The buffer is dropped once it has been handed over
/// and the socket had no more, so a quiet connection holds none.
///
/// Clients write TLS in small records (librdkafka over OpenSSL: one per
/// record of a batch, about 1 KiB each), and a broker reading as soon as
/// anything arrives woke for every one of them: 270,000 reads and 150,000
/// epoll waits per GiB produced, against 9,000 reads in plaintext. While a
/// frame is being read its remaining length is known, so the socket's
/// receive low-water mark (SO_RCVLOWAT) lets the kernel wake the broker
/// once that much has arrived.
pub(crate) struct BufferedSocket {
    socket: TcpStream,
    buffer: BytesMut,
    /// Whether the last socket read filled what it asked for (more is
    /// likely waiting, so the buffer is worth keeping).
    full: bool,
    /// Plaintext bytes the frame being read still needs, 0 between frames
    /// (the frame reader's [`ReadSide::expect`]).
    awaited: Arc<AtomicUsize>,
    /// SO_RCVLOWAT as last set: 1, the kernel's default, until raised.
    low_water: usize,
}

impl BufferedSocket {
    pub(crate) fn new(socket: TcpStream) -> BufferedSocket {
        BufferedSocket {
            socket,
            buffer: BytesMut::new(),
            full: false,
            awaited: Arc::new(AtomicUsize::new(0)),
            low_water: 1,
        }
    }

    /// Sets the receive low-water mark for what the frame being read still
    /// needs, beyond what rustls may hold already. Ciphertext is never
    /// shorter than its plaintext, so the kernel is never asked to wait for
    /// bytes that are not coming; a peer closing or a filling receive
    /// window wakes the reader whatever the mark.
    fn set_low_water(&mut self) {
        let wanted = self
            .awaited
            .load(Ordering::Relaxed)
            .saturating_sub(RUSTLS_HELD)
            .min(MAX_LOW_WATER);
        let wanted = if wanted < MIN_LOW_WATER { 1 } else { wanted };
        if wanted != self.low_water && set_receive_low_water(&self.socket, wanted).is_ok() {
            self.low_water = wanted;
        }
    }
}

// Neither rustix nor socket2 sets SO_RCVLOWAT.
#[allow(unsafe_code)]
fn set_receive_low_water(socket: &TcpStream, bytes: usize) -> std::io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: the descriptor is the open socket `socket` borrows, and the
    // option value is a c_int that outlives the call, as SO_RCVLOWAT takes.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

pub(crate) type TlsSocket = TlsStream<BufferedSocket>;

pub(crate) enum ReadSide {
    Plain(OwnedReadHalf),
    /// With the socket's [`BufferedSocket::awaited`].
    Tls(tokio::io::ReadHalf<TlsSocket>, Arc<AtomicUsize>),
    Boxed(tokio::io::ReadHalf<Box<dyn Stream>>),
}

impl ReadSide {
    /// Says how many more bytes the frame being read needs (0 once it is
    /// whole), so that a TLS socket can sleep until they have arrived. A
    /// plaintext frame is read in as few calls as it arrives in already.
    pub(crate) fn expect(&self, bytes: usize) {
        if let ReadSide::Tls(_, awaited) = self {
            awaited.store(bytes, Ordering::Relaxed);
        }
    }
}

pub(crate) enum WriteSide {
    Plain(OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsSocket>),
    Boxed(tokio::io::WriteHalf<Box<dyn Stream>>),
}

pub(crate) fn split_plain(stream: TcpStream) -> (ReadSide, WriteSide) {
    let (r, w) = stream.into_split();
    (ReadSide::Plain(r), WriteSide::Plain(w))
}

pub(crate) fn split_tls(stream: TlsSocket) -> (ReadSide, WriteSide) {
    let awaited = Arc::clone(&stream.get_ref().0.awaited);
    let (r, w) = tokio::io::split(stream);
    (ReadSide::Tls(r, awaited), WriteSide::Tls(w))
}

pub(crate) fn split_boxed(stream: Box<dyn Stream>) -> (ReadSide, WriteSide) {
    let (r, w) = tokio::io::split(stream);
    (ReadSide::Boxed(r), WriteSide::Boxed(w))
}

impl AsyncRead for ReadSide {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ReadSide::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ReadSide::Tls(s, _) => Pin::new(s).poll_read(cx, buf),
            ReadSide::Boxed(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteSide {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            WriteSide::Plain(s) => Pin::new(s).poll_write(cx, buf),
            WriteSide::Tls(s) => Pin::new(s).poll_write(cx, buf),
            WriteSide::Boxed(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            WriteSide::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            WriteSide::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            WriteSide::Boxed(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteSide::Plain(s) => s.is_write_vectored(),
            WriteSide::Tls(s) => s.is_write_vectored(),
            WriteSide::Boxed(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            WriteSide::Plain(s) => Pin::new(s).poll_flush(cx),
            WriteSide::Tls(s) => Pin::new(s).poll_flush(cx),
            WriteSide::Boxed(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            WriteSide::Plain(s) => Pin::new(s).poll_shutdown(cx),
            WriteSide::Tls(s) => Pin::new(s).poll_shutdown(cx),
            WriteSide::Boxed(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

impl AsyncRead for BufferedSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.buffer.is_empty() {
            this.set_low_water();
            if buf.remaining() >= TLS_SOCKET_READ {
                return Pin::new(&mut this.socket).poll_read(cx, buf);
            }
            this.buffer.reserve(TLS_SOCKET_READ);
            loop {
                ready!(this.socket.poll_read_ready(cx))?;
                match this
                    .socket
                    .try_read_buf(&mut (&mut this.buffer).limit(TLS_SOCKET_READ))
                {
                    Ok(n) => {
                        this.full = n == TLS_SOCKET_READ;
                        break;
                    }
                    // Readiness was stale; poll_read_ready registers again.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        }
        let n = buf.remaining().min(this.buffer.len());
        buf.put_slice(&this.buffer[..n]);
        this.buffer.advance(n);
        if this.buffer.is_empty() && !this.full {
            this.buffer = BytesMut::new();
        }
        Poll::Ready(Ok(()))
    }
}

/// The plaintext TLS 1.2 record of the fatal alert certificate_required
/// (116), with which rustls refuses a client that sends no certificate
/// where `ssl.client.auth=required` asks for one.
const CERTIFICATE_REQUIRED_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 116];

/// The same record with bad_certificate (42), what Kafka (Java's TLS)
/// sends there. certificate_required is a TLS 1.3 alert that TLS 1.2
/// clients may not know; librdkafka, which leaves out a certificate the
/// broker's CA names do not cover, recognises only 42 as the broker
/// refusing it (its test 0097_ssl_verify checks for "alert number 42").
/// In TLS 1.3 the alert is encrypted, and left as rustls sends it.
const BAD_CERTIFICATE_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 42];

/// Kafka's alert for rustls's: rustls writes each record it queued as a
/// buffer of its own, and a record two bytes long is never encrypted, so
/// whole-buffer equality finds the one alert and nothing else.
fn kafka_alert(buf: &[u8]) -> &[u8] {
    if buf == CERTIFICATE_REQUIRED_ALERT {
        &BAD_CERTIFICATE_ALERT
    } else {
        buf
    }
}

impl AsyncWrite for BufferedSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write(cx, kafka_alert(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let socket = Pin::new(&mut self.get_mut().socket);
        if bufs.iter().any(|b| **b == CERTIFICATE_REQUIRED_ALERT) {
            let replaced: Vec<IoSlice<'_>> =
                bufs.iter().map(|b| IoSlice::new(kafka_alert(b))).collect();
            return socket.poll_write_vectored(cx, &replaced);
        }
        socket.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_shutdown(cx)
    }
}
