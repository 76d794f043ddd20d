//! Result tables to Arrow IPC stream bytes, which polars reads without building a
//! Python object per cell (`pl.read_ipc_stream`): typed, nullable columns (Int64,
//! Float64, Boolean, LargeUtf8) and LargeList(LargeUtf8) for the lists of reasons and
//! notes. The library lays text out flat (`tallyscope::api::FlatText`), in Arrow's own
//! layout, so its buffers become Arrow buffers without a copy per cell.

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, LargeListArray, LargeStringArray, RecordBatch};
use arrow_array::builder::BooleanBufferBuilder;
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema};
use std::sync::Arc;
use tallyscope::api::{Cells, FlatText, Typed};
use tallyscope::export::table::Values;

fn text(t: FlatText) -> Result<LargeStringArray, ArrowError> {
    let nulls = (!t.valid.is_empty()).then(|| {
        let mut b = BooleanBufferBuilder::new(t.valid.len());
        t.valid.iter().for_each(|&v| b.append(v));
        NullBuffer::new(b.finish())
    });
    LargeStringArray::try_new(OffsetBuffer::new(ScalarBuffer::from(t.offsets)), Buffer::from_vec(t.data), nulls)
}

/// One column as an Arrow array.
fn array(cells: Cells) -> Result<ArrayRef, ArrowError> {
    Ok(match cells {
        Cells::Values(Values::Int(v)) => Arc::new(Int64Array::from(v)),
        Cells::Values(Values::Float(v)) => Arc::new(Float64Array::from(v)),
        Cells::Values(Values::Bool(v)) => Arc::new(BooleanArray::from(v)),
        Cells::Values(Values::Text(v)) => Arc::new(v.iter().map(|s| s.as_deref()).collect::<LargeStringArray>()),
        Cells::Text(t) => Arc::new(text(t)?),
        Cells::Lists(l) => {
            let field = Arc::new(Field::new("item", DataType::LargeUtf8, true));
            Arc::new(LargeListArray::try_new(field, OffsetBuffer::new(ScalarBuffer::from(l.rows)), Arc::new(text(l.items)?), None)?)
        }
    })
}

/// The table as one Arrow record batch in an IPC stream.
pub fn ipc(t: Typed) -> Result<Vec<u8>, ArrowError> {
    let mut fields = Vec::with_capacity(t.columns.len());
    let mut arrays = Vec::with_capacity(t.columns.len());
    for (name, cells) in t.columns {
        let a = array(cells)?;
        fields.push(Field::new(name, a.data_type().clone(), true));
        arrays.push(a);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = if arrays.is_empty() { RecordBatch::new_empty(schema.clone()) } else { RecordBatch::try_new(schema.clone(), arrays)? };
    let mut out = Vec::with_capacity(batch.get_array_memory_size() + 4096);
    {
        let mut w = StreamWriter::try_new(&mut out, &schema)?;
        w.write(&batch)?;
        w.finish()?;
    }
    Ok(out)
}
