//! Apache Parquet output of the result tables ([`super::table`]): typed, nullable
//! columns, Snappy-compressed, readable by DuckDB (`SELECT * FROM 'stations.parquet'`),
//! Spark, pandas/pyarrow and polars.
//!
//! Written with the `parquet` crate's low-level column writer (no Arrow: it builds in a
//! fraction of the time and we already hold the data as columns).

use super::Exporter;
use super::table::{self, Table, Values};
use crate::analysis::Analysis;
use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::sync::Arc;

/// Rows per row group (bounded memory per group for national files and beyond).
const ROW_GROUP: usize = 1 << 20;

/// Serialises `t` as a Parquet file.
pub fn write_table(t: &Table) -> parquet::errors::Result<Vec<u8>> {
    let fields: Vec<Arc<Type>> = t
        .columns
        .iter()
        .map(|c| {
            let (phys, logical) = match c.values {
                Values::Int(_) => (Physical::INT64, None),
                Values::Float(_) => (Physical::DOUBLE, None),
                Values::Text(_) => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
                Values::Bool(_) => (Physical::BOOLEAN, None),
            };
            Type::primitive_type_builder(&c.name, phys)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical)
                .build()
                .map(Arc::new)
        })
        .collect::<parquet::errors::Result<_>>()?;
    let schema = Arc::new(Type::group_type_builder("tallyscope").with_fields(fields).build()?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("tallyscope {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, props)?;
    let n = t.rows();
    let mut start = 0;
    while start < n || (n == 0 && start == 0) {
        let end = (start + ROW_GROUP).min(n);
        let mut g = w.next_row_group()?;
        for c in &t.columns {
            let mut cw = g.next_column()?.expect("one writer per schema column");
            macro_rules! put {
                ($ty:ty, $v:expr, $conv:expr) => {{
                    let slice = &$v[start..end];
                    let def: Vec<i16> = slice.iter().map(|x| i16::from(x.is_some())).collect();
                    let vals: Vec<_> = slice.iter().flatten().map($conv).collect();
                    cw.typed::<$ty>().write_batch(&vals, Some(&def), None)?;
                }};
            }
            match &c.values {
                Values::Int(v) => put!(Int64Type, v, |x: &i64| *x),
                Values::Float(v) => put!(DoubleType, v, |x: &f64| *x),
                Values::Bool(v) => put!(BoolType, v, |x: &bool| *x),
                Values::Text(v) => put!(ByteArrayType, v, |x: &String| ByteArray::from(x.as_bytes().to_vec())),
            }
            cw.close()?;
        }
        g.close()?;
        if n == 0 {
            break;
        }
        start = end;
    }
    w.close()?;
    Ok(out)
}

/// Which table a Parquet exporter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Stations,
    Commissions,
    Regions,
    Tests,
}

pub struct Parquet(pub Which);

impl Exporter for Parquet {
    fn file_name(&self) -> &'static str {
        match self.0 {
            Which::Stations => "stations.parquet",
            Which::Commissions => "commissions.parquet",
            Which::Regions => "regions.parquet",
            Which::Tests => "tests.parquet",
        }
    }
    fn write_to(&self, a: &Analysis, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let t = match self.0 {
            Which::Stations => table::stations(a),
            Which::Commissions => table::units(a, &a.commissions),
            Which::Regions => table::units(a, &a.regions),
            Which::Tests => table::tests(a),
        };
        w.write_all(&write_table(&t).map_err(std::io::Error::other)?)
    }
}
