//! A connection's two halves, plain TCP or TLS. An enum rather than a
//! generic or a boxed stream: the plaintext path keeps its direct socket
//! reads (no read buffer while idle) and pays one branch per call.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

pub(crate) enum ReadSide {
    Plain(OwnedReadHalf),
    Tls(tokio::io::ReadHalf<TlsStream<TcpStream>>),
}

pub(crate) enum WriteSide {
    Plain(OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsStream<TcpStream>>),
}

pub(crate) fn split_plain(stream: TcpStream) -> (ReadSide, WriteSide) {
    let (r, w) = stream.into_split();
    (ReadSide::Plain(r), WriteSide::Plain(w))
}

pub(crate) fn split_tls(stream: TlsStream<TcpStream>) -> (ReadSide, WriteSide) {
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
