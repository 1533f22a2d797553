//! A connection's two halves, plain TCP or TLS. An enum rather than a
//! generic or a boxed stream: the plaintext path keeps its direct socket
//! reads (no read buffer while idle) and pays one branch per call.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// What one read of a TLS connection's socket asks for: four maximum-size
/// TLS records.
const TLS_SOCKET_READ: usize = 4 * (16 * 1024 + 256);

/// The socket under rustls. rustls grows its reads 4 KiB at a time, which
/// made a large produce request over TLS up to four system calls per 16
/// KiB record; this reads the socket in large chunks and hands rustls its
/// share from memory. The buffer is dropped once it has been handed over
/// and the socket had no more, so a quiet connection holds none.
pub(crate) struct BufferedSocket {
    socket: TcpStream,
    buffer: BytesMut,
    /// Whether the last socket read filled what it asked for (more is
    /// likely waiting, so the buffer is worth keeping).
    full: bool,
}

impl BufferedSocket {
    pub(crate) fn new(socket: TcpStream) -> BufferedSocket {
        BufferedSocket {
            socket,
            buffer: BytesMut::new(),
            full: false,
        }
    }
}

pub(crate) type TlsSocket = TlsStream<BufferedSocket>;

pub(crate) enum ReadSide {
    Plain(OwnedReadHalf),
    Tls(tokio::io::ReadHalf<TlsSocket>),
}

pub(crate) enum WriteSide {
    Plain(OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsSocket>),
}

pub(crate) fn split_plain(stream: TcpStream) -> (ReadSide, WriteSide) {
    let (r, w) = stream.into_split();
    (ReadSide::Plain(r), WriteSide::Plain(w))
}

pub(crate) fn split_tls(stream: TlsSocket) -> (ReadSide, WriteSide) {
    let (r, w) = tokio::io::split(stream);
    (ReadSide::Tls(r), WriteSide::Tls(w))
}

impl AsyncRead for ReadSide {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ReadSide::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ReadSide::Tls(s) => Pin::new(s).poll_read(cx, buf),
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
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteSide::Plain(s) => s.is_write_vectored(),
            WriteSide::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            WriteSide::Plain(s) => Pin::new(s).poll_flush(cx),
            WriteSide::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            WriteSide::Plain(s) => Pin::new(s).poll_shutdown(cx),
            WriteSide::Tls(s) => Pin::new(s).poll_shutdown(cx),
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

impl AsyncWrite for BufferedSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write_vectored(cx, bufs)
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
