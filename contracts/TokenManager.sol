// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {HokusaiToken} from "./HokusaiToken.sol";

/// @title TokenManager
/// @notice Controller of every HokusaiToken: deploys a model's token, registers and mints it in one
///         transaction (factory mode), and mints and burns a model's token found through the registry.
contract TokenManager is AccessControl {
    /// @notice Role of accounts allowed to mint.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    /// @notice Role of accounts allowed to deploy tokens through `deployToken`.
    bytes32 public constant DEPLOYER_ROLE = keccak256("DEPLOYER_ROLE");

    /// @notice The registry tokens are looked up in.
    ModelRegistry public immutable registry;

    /// @notice Emitted after a mint.
    event TokensMinted(string modelId, address indexed token, address indexed to, uint256 amount);
    /// @notice Emitted after a burn.
    event TokensBurned(string modelId, address indexed token, address indexed from, uint256 amount);
    /// @notice Emitted once per model by `deployToken`, with everything it did.
    event TokenDeployed(
        string modelId,
        address indexed token,
        string name,
        string symbol,
        string performanceMetric,
        address indexed recipient,
        uint256 initialSupply
    );

    /// @notice The caller may not mint.
    error NotMinter(address caller);
    /// @notice The caller may not deploy tokens.
    error NotDeployer(address caller);
    /// @notice The model has no token in the registry.
    error ModelNotRegistered(string modelId);
    /// @notice The model already has a token; a model gets exactly one.
    error ModelAlreadyHasToken(string modelId, address token);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice The amount is zero.
    error ZeroAmount();

    constructor(address registry_) {
        if (registry_ == address(0)) revert ZeroAddress();
        registry = ModelRegistry(registry_);
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
    }

    /// @notice Creates `modelId`'s HokusaiToken (controller: this manager) at a CREATE2 address
    ///         derived from the model id, registers it in the registry (this manager must be a
    ///         registrar there) and mints `initialSupply` to `recipient` when it is above zero.
    ///         Deployers only. Reverts `ModelAlreadyHasToken` when the model already has a token.
    /// @return token The new token's address, equal to `predictTokenAddress(modelId, name, symbol)`.
    function deployToken(
        string calldata modelId,
        string calldata name,
        string calldata symbol,
        string calldata performanceMetric,
        address recipient,
        uint256 initialSupply
    ) external returns (address token) {
        if (!hasRole(DEPLOYER_ROLE, msg.sender)) revert NotDeployer(msg.sender);
        address existing = registry.getToken(modelId);
        if (existing != address(0)) revert ModelAlreadyHasToken(modelId, existing);
        if (initialSupply > 0 && recipient == address(0)) revert ZeroAddress();

        token = address(new HokusaiToken{salt: saltOf(modelId)}(name, symbol, address(this)));
        registry.registerModel(modelId, token, performanceMetric);
        if (initialSupply > 0) {
            HokusaiToken(token).mint(recipient, initialSupply);
        }
        emit TokenDeployed(modelId, token, name, symbol, performanceMetric, recipient, initialSupply);
    }

    /// @notice The address `deployToken(modelId, name, symbol, ...)` creates the token at.
    function predictTokenAddress(string calldata modelId, string calldata name, string calldata symbol)
        external
        view
        returns (address)
    {
        bytes32 initCodeHash =
            keccak256(abi.encodePacked(type(HokusaiToken).creationCode, abi.encode(name, symbol, address(this))));
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), saltOf(modelId), initCodeHash))))
        );
    }

    /// @notice The CREATE2 salt of `modelId`: keccak256 of its UTF-8 bytes.
    function saltOf(string calldata modelId) public pure returns (bytes32) {
        return keccak256(bytes(modelId));
    }

    /// @notice Mints `amount` of `modelId`'s token to `to`. Minters and admins.
    function mintTokens(string calldata modelId, address to, uint256 amount) external {
        if (!hasRole(MINTER_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert NotMinter(msg.sender);
        }
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        address token = _tokenOf(modelId);
        HokusaiToken(token).mint(to, amount);
        emit TokensMinted(modelId, token, to, amount);
    }

    /// @notice Burns `amount` of `modelId`'s token from `from`. Admins only.
    function burnTokens(string calldata modelId, address from, uint256 amount)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (from == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        address token = _tokenOf(modelId);
        HokusaiToken(token).burnFrom(from, amount);
        emit TokensBurned(modelId, token, from, amount);
    }

    function _tokenOf(string calldata modelId) private view returns (address token) {
        token = registry.getToken(modelId);
        if (token == address(0)) revert ModelNotRegistered(modelId);
    }
}
