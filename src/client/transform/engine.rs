//! One transform module run in wasmi: an interpreter (a few seconds of
//! CI build where wasmtime's compiler costs minutes, docs/plugins.md),
//! fuel-metered, memory-capped, offered nothing but `gregor.emit`.

use std::path::Path;

use wasmi::{
    Caller, Config, Engine, Extern, Instance, Linker, Memory, Module, Store, StoreLimits,
    StoreLimitsBuilder, TrapCode, TypedFunc,
};

use super::{abi, Record, TransformError};

/// Fuel (about one unit per WebAssembly instruction) a transform may spend
/// on one record unless --transform-fuel says otherwise: far beyond any
/// redaction or routing, and a runaway loop uses it up in well under a
/// second in a release build.
pub const DEFAULT_FUEL: u64 = 50_000_000;
/// The most linear memory a transform may grow to.
pub const MEMORY_LIMIT: usize = 64 << 20;

/// The only host module a transform may import from, and its one function.
const HOST_MODULE: &str = "gregor";
const EMIT: &str = "emit";

struct Host {
    limits: StoreLimits,
    /// The records emitted for the record under way, encoded.
    emitted: Vec<Vec<u8>>,
    emitted_bytes: usize,
}

pub struct Transform {
    pub name: String,
    fuel: u64,
    module: Module,
    linker: Linker<Host>,
    store: Store<Host>,
    instance: Running,
    input: Vec<u8>,
}

/// What an instance exports for the host to call.
struct Running {
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    transform: TypedFunc<(i32, i32), i32>,
}

fn emit(mut caller: Caller<'_, Host>, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    let memory = match caller.get_export("memory") {
        Some(Extern::Memory(m)) => m,
        _ => {
            return Err(wasmi::Error::new(
                "gregor.emit: the module exports no memory",
            ))
        }
    };
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    let data = memory.data(&caller);
    let Some(bytes) = data.get(start..start.saturating_add(len)) else {
        return Err(wasmi::Error::new(format!(
            "gregor.emit: {len} bytes at {start} are outside the module's memory"
        )));
    };
    let bytes = bytes.to_vec();
    let host = caller.data_mut();
    host.emitted_bytes += bytes.len();
    if host.emitted_bytes > MEMORY_LIMIT {
        return Err(wasmi::Error::new(format!(
            "gregor.emit: more than {MEMORY_LIMIT} bytes emitted for one record"
        )));
    }
    host.emitted.push(bytes);
    Ok(())
}

impl Transform {
    /// Loads a module, binary or text (.wat), checks that it imports only
    /// what the ABI offers and speaks its version, and instantiates it.
    pub fn load(path: &Path, fuel: u64) -> Result<Transform, TransformError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|cause| TransformError::Read {
            path: name.clone(),
            cause,
        })?;
        let refuse = |reason: String| TransformError::Load {
            name: name.clone(),
            reason,
        };
        let mut config = Config::default();
        config.consume_fuel(true);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, &bytes[..]).map_err(|e| refuse(e.to_string()))?;
        for import in module.imports() {
            if import.module() != HOST_MODULE || import.name() != EMIT {
                return Err(refuse(format!(
                    "it imports {}.{}, which is not offered (a transform may import only {HOST_MODULE}.{EMIT})",
                    import.module(),
                    import.name()
                )));
            }
        }
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap(HOST_MODULE, EMIT, emit)
            .map_err(|e| refuse(e.to_string()))?;
        let mut store = new_store(&engine);
        let instance = start(&linker, &mut store, &module, fuel).map_err(refuse)?;
        Ok(Transform {
            name,
            fuel,
            module,
            linker,
            store,
            instance,
            input: Vec::new(),
        })
    }

    /// Runs the transform on one record: what it emitted, in order, or why
    /// it failed. A failed instance is replaced by a fresh one, so that a
    /// record after it (--on-error skip) meets no half-updated state.
    pub fn apply(&mut self, record: &Record) -> Result<Vec<Record>, String> {
        let outcome = self.call(record);
        let emitted = std::mem::take(&mut self.store.data_mut().emitted);
        self.store.data_mut().emitted_bytes = 0;
        if let Err(reason) = outcome {
            let mut store = new_store(self.store.engine());
            let instance = start(&self.linker, &mut store, &self.module, self.fuel)
                .map_err(|e| format!("{reason}; then it could not be restarted: {e}"))?;
            self.store = store;
            self.instance = instance;
            return Err(reason);
        }
        emitted
            .iter()
            .enumerate()
            .map(|(n, bytes)| {
                let mut out = abi::decode(bytes)
                    .map_err(|e| format!("record {} it emitted is malformed: {e}", n + 1))?;
                if out.topic.is_empty() {
                    out.topic.clone_from(&record.topic);
                }
                Ok(out)
            })
            .collect()
    }

    fn call(&mut self, record: &Record) -> Result<(), String> {
        abi::encode(record, &mut self.input);
        self.store.set_fuel(self.fuel).map_err(|e| e.to_string())?;
        let len = i32::try_from(self.input.len())
            .map_err(|_| format!("the record is {} bytes, over 2 GiB", self.input.len()))?;
        let Running {
            memory,
            alloc,
            transform,
        } = &self.instance;
        let fuel = self.fuel;
        let ptr = alloc
            .call(&mut self.store, len)
            .map_err(|e| trap(e, fuel))?;
        memory
            .write(&mut self.store, ptr as u32 as usize, &self.input)
            .map_err(|_| {
                format!("gregor_alloc({len}) returned {ptr}, which is not room for the record")
            })?;
        match transform
            .call(&mut self.store, (ptr, len))
            .map_err(|e| trap(e, fuel))?
        {
            0 => Ok(()),
            code => Err(format!("gregor_transform returned error code {code}")),
        }
    }
}

fn new_store(engine: &Engine) -> Store<Host> {
    let host = Host {
        limits: StoreLimitsBuilder::new().memory_size(MEMORY_LIMIT).build(),
        emitted: Vec::new(),
        emitted_bytes: 0,
    };
    let mut store = Store::new(engine, host);
    store.limiter(|host| &mut host.limits);
    store
}

/// Instantiates the module and finds the exports the ABI needs.
fn start(
    linker: &Linker<Host>,
    store: &mut Store<Host>,
    module: &Module,
    fuel: u64,
) -> Result<Running, String> {
    store.set_fuel(fuel).map_err(|e| e.to_string())?;
    let instance: Instance = linker
        .instantiate_and_start(&mut *store, module)
        .map_err(|e| trap(e, fuel))?;
    let version = instance
        .get_typed_func::<(), i32>(&*store, "gregor_abi_version")
        .map_err(|_| "it does not export gregor_abi_version: () -> i32".to_string())?
        .call(&mut *store, ())
        .map_err(|e| trap(e, fuel))?;
    if version != abi::VERSION {
        return Err(format!(
            "it speaks ABI version {version}; this Gregor speaks version {}",
            abi::VERSION
        ));
    }
    let memory = instance
        .get_memory(&*store, "memory")
        .ok_or("it does not export its memory as \"memory\"")?;
    let alloc = instance
        .get_typed_func(&*store, "gregor_alloc")
        .map_err(|_| "it does not export gregor_alloc: (i32) -> i32".to_string())?;
    let transform = instance
        .get_typed_func(&*store, "gregor_transform")
        .map_err(|_| "it does not export gregor_transform: (i32, i32) -> i32".to_string())?;
    Ok(Running {
        memory,
        alloc,
        transform,
    })
}

/// A trap as one line, running out of fuel said with the flag that sets it.
fn trap(e: wasmi::Error, fuel: u64) -> String {
    match e.as_trap_code() {
        Some(TrapCode::OutOfFuel) => {
            format!("it ran out of fuel ({fuel} per record; --transform-fuel): a runaway loop?")
        }
        Some(code) => format!("it trapped: {code}"),
        None => e.to_string(),
    }
}
