//! Attachments (imaging, PDFs) of any size with flat memory: STREAM (Hoang, Reyhanitabar,
//! Rogaway, Vizár 2015) over AES-256-GCM, big-endian 32-bit chunk counter.
//!
//! ```text
//! header  = VERSION(1) ‖ chunk size(u32 BE) ‖ nonce prefix(7)
//! chunk_i = AES-256-GCM(data key, prefix ‖ i(u32 BE) ‖ last?(1), plaintext chunk, aad = binding)
//! ```
//!
//! Every chunk but the last holds exactly `chunk size` plaintext bytes; the last is flagged in
//! its nonce, so reordering, dropping, duplicating or truncating chunks all fail. Decryption
//! writes a chunk only after it authenticates, but a truncated stream is only detected at the
//! end: discard the output when [`decrypt`] returns an error.

use std::io::{Read, Write};

use aead_stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{KeyInit, Payload};

use super::{DataKey, EnvelopeError, RecordBinding, VERSION, random_bytes};

pub const DEFAULT_CHUNK: u32 = 64 * 1024;
pub const HEADER_LEN: usize = 1 + 4 + 7;
const TAG_LEN: usize = 16;

/// Encrypts everything `reader` yields into `writer`; returns the plaintext length.
pub fn encrypt(
    key: &DataKey,
    binding: &RecordBinding,
    chunk_size: u32,
    reader: impl Read,
    writer: impl Write,
) -> Result<u64, EnvelopeError> {
    encrypt_with_prefix(key, binding, chunk_size, random_bytes()?, reader, writer)
}

/// [`encrypt`] with a given nonce prefix, for known-answer vectors. Outside tests the prefix
/// must be random: two streams under one key with one prefix share nonces.
pub fn encrypt_with_prefix(
    key: &DataKey,
    binding: &RecordBinding,
    chunk_size: u32,
    prefix: [u8; 7],
    mut reader: impl Read,
    mut writer: impl Write,
) -> Result<u64, EnvelopeError> {
    check_chunk_size(chunk_size)?;
    let mut header = [0u8; HEADER_LEN];
    header[0] = VERSION;
    header[1..5].copy_from_slice(&chunk_size.to_be_bytes());
    header[5..].copy_from_slice(&prefix);
    writer.write_all(&header)?;

    let aad = binding.to_bytes()?;
    let mut encryptor = EncryptorBE32::from_aead(Aes256Gcm::new(key.as_bytes().into()), &prefix.into());
    let mut chunk = vec![0u8; chunk_size as usize];
    let mut lookahead: Option<u8> = None;
    let mut total = 0u64;
    loop {
        let (filled, last) = next_chunk(&mut reader, &mut chunk, &mut lookahead)?;
        total += filled as u64;
        let payload = Payload { msg: &chunk[..filled], aad: &aad };
        if last {
            return finish(encryptor.encrypt_last(payload), &mut writer, total);
        }
        writer.write_all(&encryptor.encrypt_next(payload).map_err(|_| EnvelopeError::Authentication)?)?;
    }
}

fn finish(
    sealed: Result<Vec<u8>, aes_gcm::aead::Error>,
    writer: &mut impl Write,
    total: u64,
) -> Result<u64, EnvelopeError> {
    writer.write_all(&sealed.map_err(|_| EnvelopeError::Authentication)?)?;
    writer.flush()?;
    Ok(total)
}

/// Decrypts a stream made by [`encrypt`] into `writer`; returns the plaintext length.
pub fn decrypt(
    key: &DataKey,
    binding: &RecordBinding,
    mut reader: impl Read,
    mut writer: impl Write,
) -> Result<u64, EnvelopeError> {
    let mut header = [0u8; HEADER_LEN];
    if read_full(&mut reader, &mut header)? < HEADER_LEN {
        return Err(EnvelopeError::Truncated);
    }
    if header[0] != VERSION {
        return Err(EnvelopeError::UnsupportedVersion(header[0]));
    }
    let chunk_size = u32::from_be_bytes(header[1..5].try_into().expect("4 bytes"));
    check_chunk_size(chunk_size)?;
    let prefix: [u8; 7] = header[5..].try_into().expect("7 bytes");

    let aad = binding.to_bytes()?;
    let mut decryptor = DecryptorBE32::from_aead(Aes256Gcm::new(key.as_bytes().into()), &prefix.into());
    let mut chunk = vec![0u8; chunk_size as usize + TAG_LEN];
    let mut lookahead: Option<u8> = None;
    let mut total = 0u64;
    loop {
        let (filled, last) = next_chunk(&mut reader, &mut chunk, &mut lookahead)?;
        if filled < TAG_LEN {
            return Err(EnvelopeError::Truncated);
        }
        let payload = Payload { msg: &chunk[..filled], aad: &aad };
        if last {
            let plain = decryptor.decrypt_last(payload).map_err(|_| EnvelopeError::Authentication)?;
            return finish(Ok(plain), &mut writer, total + filled as u64 - TAG_LEN as u64);
        }
        let plain = decryptor.decrypt_next(payload).map_err(|_| EnvelopeError::Authentication)?;
        total += plain.len() as u64;
        writer.write_all(&plain)?;
    }
}

fn check_chunk_size(chunk_size: u32) -> Result<(), EnvelopeError> {
    if (1024..=16 * 1024 * 1024).contains(&chunk_size) { Ok(()) } else { Err(EnvelopeError::ChunkSize(chunk_size)) }
}

/// Fills `chunk` (starting with the byte carried over from the previous call) and says whether
/// it is the last: a full chunk is the last one only if nothing follows it, so one byte is read
/// ahead and carried into the next chunk.
fn next_chunk(
    reader: &mut impl Read,
    chunk: &mut [u8],
    lookahead: &mut Option<u8>,
) -> Result<(usize, bool), EnvelopeError> {
    let mut filled = 0;
    if let Some(byte) = lookahead.take() {
        chunk[0] = byte;
        filled = 1;
    }
    filled += read_full(reader, &mut chunk[filled..])?;
    if filled < chunk.len() {
        return Ok((filled, true));
    }
    let mut one = [0u8; 1];
    let more = read_full(reader, &mut one)? == 1;
    *lookahead = more.then_some(one[0]);
    Ok((filled, !more))
}

/// Reads until `buf` is full or the reader ends; returns how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, EnvelopeError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(filled)
}
