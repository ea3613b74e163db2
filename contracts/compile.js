#!/usr/bin/env node
// Compiles the Solidity contracts with the pinned npm solc and writes contracts/artifacts/<Name>.json
// ({contractName, abi, bytecode}). The output is deterministic so it can be committed and checked:
//   npm run compile                  regenerate the artefacts
//   node contracts/compile.js --check exit 1 when the committed artefacts differ from a fresh compile
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const contractsDir = __dirname;
const repoRoot = path.resolve(contractsDir, '..');
const artifactsDir = path.join(contractsDir, 'artifacts');
const nodeModules = path.join(repoRoot, 'node_modules');
const SOURCES = ['HokusaiToken.sol', 'ModelRegistry.sol', 'TokenManager.sol'];
const EMIT = ['HokusaiToken', 'ModelRegistry', 'TokenManager'];

function findImport(importPath) {
  const candidates = [path.join(contractsDir, importPath), path.join(nodeModules, importPath)];
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    }
  }
  return { error: `File not found: ${importPath} (run npm ci)` };
}

function compile() {
  const sources = {};
  for (const file of SOURCES) {
    sources[file] = { content: fs.readFileSync(path.join(contractsDir, file), 'utf8') };
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      // No metadata hash: the bytecode then depends only on the sources and these settings.
      metadata: { bytecodeHash: 'none', appendCBOR: false },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) {
    process.stderr.write(`${e.formattedMessage || e.message}\n`);
  }
  if (errors.length > 0) {
    throw new Error(`solc reported ${errors.length} error(s)`);
  }
  const artifacts = {};
  for (const name of EMIT) {
    const file = `${name}.sol`;
    const contract = output.contracts[file] && output.contracts[file][name];
    if (!contract) throw new Error(`solc produced no output for ${name}`);
    const artifact = {
      contractName: name,
      abi: sortKeys(contract.abi),
      bytecode: `0x${contract.evm.bytecode.object}`,
    };
    artifacts[name] = `${JSON.stringify(artifact, null, 2)}\n`;
  }
  return artifacts;
}

// Stable key order inside ABI entries so the files only change when the contracts do.
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const sorted = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]);
    return sorted;
  }
  return value;
}

function main() {
  const check = process.argv.includes('--check');
  const artifacts = compile();
  if (check) {
    const drifted = [];
    for (const [name, text] of Object.entries(artifacts)) {
      const file = path.join(artifactsDir, `${name}.json`);
      const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
      if (current !== text) drifted.push(name);
    }
    if (drifted.length > 0) {
      process.stderr.write(`Artefacts differ from a fresh compile: ${drifted.join(', ')}. Run: npm run compile\n`);
      process.exit(1);
    }
    process.stdout.write(`Artefacts match a fresh compile with solc ${solc.version()}.\n`);
    return;
  }
  fs.mkdirSync(artifactsDir, { recursive: true });
  for (const [name, text] of Object.entries(artifacts)) {
    fs.writeFileSync(path.join(artifactsDir, `${name}.json`), text);
  }
  process.stdout.write(`Wrote ${Object.keys(artifacts).length} artefacts with solc ${solc.version()}.\n`);
}

main();
