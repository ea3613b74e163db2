// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {HokusaiToken} from "./HokusaiToken.sol";

/// @title TokenManager
/// @notice Controller of every HokusaiToken: mints and burns a model's token, found through the registry.
contract TokenManager is AccessControl {
    /// @notice Role of accounts allowed to mint.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice The registry tokens are looked up in.
    ModelRegistry public immutable registry;

    /// @notice Emitted after a mint.
    event TokensMinted(string modelId, address indexed token, address indexed to, uint256 amount);
    /// @notice Emitted after a burn.
    event TokensBurned(string modelId, address indexed token, address indexed from, uint256 amount);

    /// @notice The caller may not mint.
    error NotMinter(address caller);
    /// @notice The model has no token in the registry.
    error ModelNotRegistered(string modelId);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice The amount is zero.
    error ZeroAmount();

    constructor(address registry_) {
        if (registry_ == address(0)) revert ZeroAddress();
        registry = ModelRegistry(registry_);
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
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
