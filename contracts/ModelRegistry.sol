// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title ModelRegistry
/// @notice Maps ML model ids to their tokens, one token per model and one model per token.
///         The owner registers, and so may the registrars it appoints (the TokenManager, which
///         deploys and registers a token in one transaction).
contract ModelRegistry is Ownable {
    /// @notice What the registry knows about a model.
    struct Model {
        string modelId;
        address token;
        string performanceMetric;
        uint256 registeredAt;
        bool active;
    }

    mapping(string => Model) private _models;
    mapping(address => string) private _modelIdByToken;
    uint256 public modelCount;

    /// @notice Accounts other than the owner allowed to register (e.g. the TokenManager).
    mapping(address => bool) public isRegistrar;

    /// @notice Emitted when a model is registered.
    event ModelRegistered(string modelId, address indexed token, string performanceMetric);
    /// @notice Emitted when the owner grants or revokes the registrar role.
    event RegistrarUpdated(address indexed account, bool allowed);

    /// @notice The model id already has a token.
    error ModelAlreadyRegistered(string modelId);
    /// @notice The token already belongs to a model.
    error TokenAlreadyRegistered(address token);
    /// @notice The model id does not match ^[A-Za-z0-9_-]{1,64}$.
    error InvalidModelId(string modelId);
    /// @notice The token address is zero.
    error InvalidToken();
    /// @notice The model id is not registered.
    error ModelNotRegistered(string modelId);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();

    constructor() Ownable(msg.sender) {}

    /// @notice Grants (`allowed`) or revokes the registrar role of `account`. Owner only.
    function setRegistrar(address account, bool allowed) external onlyOwner {
        if (account == address(0)) revert ZeroAddress();
        isRegistrar[account] = allowed;
        emit RegistrarUpdated(account, allowed);
    }

    /// @notice Registers `token` for `modelId`. The owner and registrars only; anyone else gets
    ///         Ownable's `OwnableUnauthorizedAccount`, as before registrars existed.
    function registerModel(string calldata modelId, address token, string calldata performanceMetric) external {
        if (msg.sender != owner() && !isRegistrar[msg.sender]) revert OwnableUnauthorizedAccount(msg.sender);
        if (!_validModelId(bytes(modelId))) revert InvalidModelId(modelId);
        if (token == address(0)) revert InvalidToken();
        if (_models[modelId].active) revert ModelAlreadyRegistered(modelId);
        if (bytes(_modelIdByToken[token]).length != 0) revert TokenAlreadyRegistered(token);

        _models[modelId] = Model(modelId, token, performanceMetric, block.timestamp, true);
        _modelIdByToken[token] = modelId;
        unchecked {
            ++modelCount;
        }
        emit ModelRegistered(modelId, token, performanceMetric);
    }

    /// @notice The token of `modelId`, or the zero address.
    function getToken(string calldata modelId) external view returns (address) {
        return _models[modelId].token;
    }

    /// @notice Whether `modelId` has a token.
    function isRegistered(string calldata modelId) external view returns (bool) {
        return _models[modelId].active;
    }

    /// @notice The model id of `token`, or the empty string.
    function getModelId(address token) external view returns (string memory) {
        return _modelIdByToken[token];
    }

    /// @notice Everything about `modelId`; reverts when it is not registered.
    function getModel(string calldata modelId) external view returns (Model memory) {
        Model memory model = _models[modelId];
        if (!model.active) revert ModelNotRegistered(modelId);
        return model;
    }

    function _validModelId(bytes calldata id) private pure returns (bool) {
        uint256 length = id.length;
        if (length == 0 || length > 64) return false;
        for (uint256 i = 0; i < length; ++i) {
            bytes1 c = id[i];
            bool ok = (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "_"
                || c == "-";
            if (!ok) return false;
        }
        return true;
    }
}
